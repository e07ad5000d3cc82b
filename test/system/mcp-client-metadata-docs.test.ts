// The shell blocks of docs/mcp-and-client-metadata.md, run as written with bash: the service started with
// client ID metadata documents on (`npm run dev`, kept running as in a terminal of its own), then the curl of
// another terminal that finds them announced in the discovery document. The documented port, 3000, becomes a
// free one.
// ci: embedded database only. What this file checks (packages, docs commands, processes on the embedded
// database) does not change with TEST_DATABASE_URL, so CI's PostgreSQL pass leaves it out (.ci/run).
import t from 'tap';
import { tempDir } from '../helper.js';
import { bash, bashServer, block } from '../doc-shell.js';
import { freePort } from '../free-port.js';

// tsx starts the service from source: a minute on a loaded machine.
t.setTimeout(600_000);

const PAGE = 'docs/mcp-and-client-metadata.md';

t.test(`${PAGE}: the service started as shown announces client ID metadata documents`, async (t) => {
  const port = await freePort();
  const here = (script: string) => script.replaceAll('127.0.0.1:3000', `127.0.0.1:${port}`);
  await bashServer(
    t,
    here(await block(PAGE, 'ISSUER=http://127.0.0.1:3000 RESOURCES=http://127.0.0.1:4100/mcp CLIENT_ID_METADATA')),
    { PORT: String(port), DATABASE_URL: 'pglite:memory', KEYS_DIR: await tempDir(t, 'tessera-cimd-keys-') },
    `http://127.0.0.1:${port}/health/ready`,
  );
  const r = await bash(
    here(await block(PAGE, 'curl -s http://127.0.0.1:3000/.well-known/oauth-authorization-server')),
    {},
  );
  t.equal(r.code, 0, `the curl block exits 0: grep found the line (stderr: ${r.stderr.slice(0, 300)})`);
  t.equal(r.stdout.trim(), '"client_id_metadata_document_supported":true', 'the discovery document announces them');
});
