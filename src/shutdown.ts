// How a serving process ends. SIGTERM or SIGINT starts a graceful close (stop accepting, finish the requests in
// flight, close the database) bounded by close-with-grace's delay. The same signal often arrives more than once
// at the same moment: Ctrl-C signals the whole process group (npm, which forwards it again, and the server),
// systemd signals the whole control group, and a cluster primary passes SIGTERM on to workers that already got
// the terminal's SIGINT. So a second signal within REPEAT_WINDOW_MS is the same request; only a later one means
// "stop now" (exit 1). A rejected promise nobody awaited is logged, not fatal: a stray timer in one request must
// not take down every other one. An uncaught exception still closes the process (its state is unknown).
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';

const REPEAT_WINDOW_MS = 2000;
const GRACE_MS = 10_000;

export function closeOnSignals(app: FastifyInstance): void {
  const grace = closeWithGrace(
    { delay: GRACE_MS, skip: ['SIGINT', 'SIGTERM', 'unhandledRejection'] },
    async ({ err }) => {
      if (err) app.log.error({ err }, 'shutting down after an error');
      await app.close();
    },
  );
  let firstAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    const now = Date.now();
    if (firstAt === undefined) {
      firstAt = now;
      app.log.info({ signal }, 'shutting down');
      void grace.close();
    } else if (now - firstAt < REPEAT_WINDOW_MS) {
      app.log.info({ signal }, 'already shutting down; a repeated signal this soon is the same request');
    } else {
      app.log.error({ signal }, 'signalled again while shutting down: exiting now');
      process.exit(1);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('unhandledRejection', (err) =>
    app.log.error({ event: 'unhandled_rejection', err }, 'a promise failed with no one awaiting it; still serving'),
  );
}
