// Unit tier: a new OAuth client's id (src/domain/tokens/service-clients.ts). It is typed on command lines
// (`--client-id <id>` of the device-flow CLI and the admin scripts), where one starting with "-" reads as an
// option: none may, and the ids stay 16 random bytes of base64url otherwise.
import t from 'tap';
import { newClientId } from '../../src/domain/tokens/service-clients.js';

t.test('20,000 new client ids: none starts with "-", all 22 base64url characters, all distinct', async (t) => {
  const ids = Array.from({ length: 20_000 }, newClientId);
  t.equal(ids.filter((id) => id.startsWith('-')).length, 0, 'none starts with "-" (one in 64 would by chance)');
  t.equal(ids.filter((id) => !/^[A-Za-z0-9_-]{22}$/.test(id)).length, 0, 'each is 22 base64url characters');
  t.equal(new Set(ids).size, ids.length, 'no two alike');
});
