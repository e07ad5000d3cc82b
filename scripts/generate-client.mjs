// Generates the Prisma client into src/generated/prisma (run by `npm install` / `npm ci`).
// Skipped where the prisma CLI is absent (a production image installed with --omit=dev,
// which copies the generated client from its build stage instead).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = `${root}node_modules/prisma/build/index.js`;
if (!existsSync(cli)) {
  console.log('prisma CLI not installed; skipping client generation');
  process.exit(0);
}
const res = spawnSync(process.execPath, [cli, 'generate'], {
  cwd: root,
  stdio: 'inherit',
  env: {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: `${root}scripts/schema-engine-stub`,
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
    CHECKPOINT_DISABLE: '1',
  },
});
process.exit(res.status ?? 1);
