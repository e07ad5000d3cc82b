// How many argon2id hashes a process runs at once: its share of the machine's cores within its thread pool, and
// the pool's size read from UV_THREADPOOL_SIZE the way libuv reads it (so the limit never assumes threads that
// do not exist). The queue itself is exercised through HTTP in test/integration/metrics.test.ts.
import t from 'tap';
import { hashSlots, threadPoolSize } from '../../src/domain/accounts/hash-slots.js';

t.test('one hash per core, shared between the processes of a machine, within the thread pool', async (t) => {
  t.equal(hashSlots({ cores: 2, threadPool: 4, processes: 1 }), 2, 'two cores, one process: two');
  t.equal(hashSlots({ cores: 8, threadPool: 4, processes: 1 }), 4, 'eight cores, a pool of four: four');
  t.equal(hashSlots({ cores: 8, threadPool: 16, processes: 1 }), 8, 'a larger pool lets every core hash');
  t.equal(hashSlots({ cores: 8, threadPool: 4, processes: 8 }), 1, 'WORKERS=auto on eight cores: one each');
  t.equal(hashSlots({ cores: 8, threadPool: 4, processes: 3 }), 2, 'three workers on eight cores: two each');
  t.equal(hashSlots({ cores: 2, threadPool: 4, processes: 4 }), 1, 'more workers than cores: still one each');
  t.equal(hashSlots({ cores: 1, threadPool: 1, processes: 1 }), 1, 'one core, one thread: one');
});

t.test('UV_THREADPOOL_SIZE read as libuv reads it', async (t) => {
  t.equal(threadPoolSize(undefined), 4, 'unset: 4');
  t.equal(threadPoolSize('8'), 8, 'a count');
  t.equal(threadPoolSize(' 16'), 16, 'leading spaces, as atoi');
  t.equal(threadPoolSize('6x'), 6, 'trailing characters ignored, as atoi');
  t.equal(threadPoolSize('0'), 1, '0 is 1');
  t.equal(threadPoolSize(''), 1, 'empty is 1');
  t.equal(threadPoolSize('many'), 1, 'no digits is 1');
  t.equal(threadPoolSize('4096'), 1024, 'at most 1024');
});
