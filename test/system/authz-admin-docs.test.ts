// The "Try it with curl" block of docs/admin.md (roles, the admin API, a service token), run as it is with
// bash against a listening Tessera: the commands a reader copies are the commands that are tested.
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildTestApp, PASSWORD, uniqueEmail } from '../helper.js';
import { secretClient } from '../authz-fixtures.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The first ```sh block after `heading` in docs/admin.md. */
async function readmeBlock(heading: string): Promise<string> {
  const readme = await readFile(path.join(ROOT, 'docs/admin.md'), 'utf8');
  const at = readme.indexOf(`\n${heading}\n`);
  if (at < 0) throw new Error(`docs/admin.md has no heading ${heading}`);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!block) throw new Error(`no sh block after ${heading}`);
  return block[1]!;
}

t.test("the admin guide's curl walk-through of roles, the admin API and service tokens works as written", async (t) => {
  const ops = secretClient('ops', 'scope=admin');
  const { app } = await buildTestApp(t, { env: { SERVICE_CLIENTS: ops.entry } });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const script = await readmeBlock('## Try it with curl');
  const email = uniqueEmail();
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      'bash',
      ['--norc', '--noprofile', '-euo', 'pipefail', '-c', script],
      {
        timeout: 60_000,
        env: { PATH: process.env.PATH, TESSERA: address, OPS_SECRET: ops.secret, EMAIL: email, PASSWORD },
      },
      (err, out, errOut) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout: out, stderr: errOut }),
    );
  });
  t.equal(code, 0, `the block exits 0${stderr ? ` (stderr: ${stderr.slice(0, 500)})` : ''}`);
  const user = await app.services.database.prisma.user.findUniqueOrThrow({ where: { email } });
  t.same(
    stdout.trim().split('\n'),
    [
      '{"roles":["support"]}',
      `{"sub":"${user.id}","roles":["support"]}`,
      '{"ended_sessions":1}',
      'account_disabled',
      'account_disabled',
      'login_ok',
      'role_granted',
    ],
    'each step prints what docs/admin.md says it prints, in order',
  );
});
