// npm run bench:profile -- DIR [SCENARIO]: what the V8 CPU profiles of `npm run bench:load -- --cpu-prof DIR`
// say Tessera spent its time on while one scenario ran (boot and seeding left out), grouped the way performance
// work needs it: Fastify and its hooks, logging, Prisma, the pg driver, crypto, schemas/JSON, GC, and Tessera's
// own code. Self time is charged to the group of the frame that spent it; a frame of node_modules/<pkg> counts
// for <pkg>. The windows come from points-<db>.json, which bench:load writes next to the profiles: V8 stamps
// samples with the same monotonic clock as process.hrtime, so the two line up across processes.
import { existsSync, readFileSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { SourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** When one load point ran, in microseconds of the monotonic clock. */
export interface ProfileWindow {
  run: number;
  scenario: string;
  concurrency: number;
  fromUs: number;
  toUs: number;
}

export const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number };
  children?: number[];
}
interface Profile {
  startTime: number;
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const GROUPS: Array<[string, RegExp]> = [
  ['logging (pino)', /node_modules\/(pino|pino-std-serializers|fast-redact|@pinojs|sonic-boom|thread-stream)\//],
  ['Prisma', /node_modules\/(@prisma|\.prisma)\/|src\/generated\/prisma|pglite-prisma-adapter/],
  ['pg driver', /node_modules\/(pg|pg-protocol|pg-pool|pg-types|postgres-[a-z]+|pg-connection-string)\//],
  ['PGlite', /node_modules\/@electric-sql\//],
  ['JWT (jose)', /node_modules\/jose\//],
  [
    'schemas / JSON (ajv, fast-json-stringify)',
    /node_modules\/(ajv|fast-json-stringify|@fastify\/ajv-compiler|fast-uri|json-schema-ref-resolver)\//,
  ],
  [
    'Fastify (router, hooks, reply)',
    /node_modules\/(fastify|@fastify\/(?!ajv)[a-z-]+|find-my-way|light-my-request|avvio|fast-querystring|toad-cache|secure-json-parse|abstract-logging|process-warning|rfdc|fastfall)\//,
  ],
  ['other dependencies', /node_modules\//],
  ['Tessera: plugins and http', /\/(src|dist\/src)\/(plugins|http)\//],
  ['Tessera: routes', /\/(src|dist\/src)\/routes\//],
  ['Tessera: domain', /\/(src|dist\/src)\/domain\//],
  ['Tessera: db', /\/(src|dist\/src)\/db\//],
  ['Tessera: other', /\/(src|dist\/src)\//],
  [
    'node: net/http/streams',
    /^node:(_http|http|net|stream|internal\/streams|internal\/http|_stream|internal\/stream_base)/,
  ],
  ['node: crypto', /^node:(crypto|internal\/crypto)/],
  ['node: other', /^node:/],
];

const sourceMaps = new Map<string, SourceMap | null>();

/**
 * The server runs bundled (scripts/bundle-server.mjs): a frame's URL is then a chunk of dist/src, not the package
 * or source file the code came from. The bundle's source maps give that file back, so the groups below still apply.
 */
function unbundle(frame: Node['callFrame']): Node['callFrame'] {
  if (!frame.url.startsWith('file://') || frame.url.includes('/node_modules/')) return frame;
  let map = sourceMaps.get(frame.url);
  if (map === undefined) {
    const file = `${fileURLToPath(frame.url)}.map`;
    map = existsSync(file) ? new SourceMap(JSON.parse(readFileSync(file, 'utf8'))) : null;
    sourceMaps.set(frame.url, map);
  }
  const entry = map?.findEntry(frame.lineNumber, frame.columnNumber ?? 0) as
    | { originalSource?: string; originalLine?: number }
    | undefined;
  if (!entry?.originalSource) return frame;
  const url = new URL(entry.originalSource, frame.url).href;
  return { ...frame, url, lineNumber: entry.originalLine ?? frame.lineNumber };
}

function group(node: Node): string {
  const { functionName, url } = node.callFrame;
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(program)') return 'V8 / native (program)';
  for (const [name, re] of GROUPS) if (re.test(url)) return name;
  if (
    /^(sign|verify|createSign|createVerify|hash|digest|update|final|timingSafeEqual|randomBytes|createHmac|createHash)$/.test(
      functionName,
    ) &&
    url === ''
  )
    return 'node: crypto';
  return url === '' ? `native: ${functionName || '(anonymous)'}` : 'other';
}

interface ProfileSummary {
  totalMs: number;
  busyMs: number;
  groups: Array<{ name: string; ms: number; share: number }>;
  top: Array<{ fn: string; where: string; ms: number; share: number }>;
}

function summarizeProfile(profile: Profile, windows: ProfileWindow[] | undefined, topN = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, { ...n, callFrame: unbundle(n.callFrame) }]));
  const self = new Map<number, number>();
  let at = profile.startTime;
  const inWindow = (t: number) => !windows || windows.some((w) => t >= w.fromUs && t <= w.toUs);
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    at += dt;
    if (inWindow(at)) self.set(id, (self.get(id) ?? 0) + dt);
  });
  const groups = new Map<string, number>();
  const fns = new Map<string, { fn: string; where: string; us: number }>();
  let total = 0;
  for (const [id, us] of self) {
    const node = byId.get(id)!;
    total += us;
    const g = group(node);
    groups.set(g, (groups.get(g) ?? 0) + us);
    if (g === 'idle') continue;
    const where = node.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(dist\/)?src\//, 'src/');
    const key = `${node.callFrame.functionName}@${where}:${node.callFrame.lineNumber}`;
    const e = fns.get(key) ?? {
      fn: node.callFrame.functionName || '(anonymous)',
      where: `${where}:${node.callFrame.lineNumber + 1}`,
      us: 0,
    };
    e.us += us;
    fns.set(key, e);
  }
  const busy = total - (groups.get('idle') ?? 0);
  return {
    totalMs: total / 1000,
    busyMs: busy / 1000,
    groups: [...groups]
      .filter(([name]) => name !== 'idle')
      .map(([name, us]) => ({ name, ms: us / 1000, share: us / busy }))
      .sort((a, b) => b.ms - a.ms),
    top: [...fns.values()]
      .map((e) => ({ fn: e.fn, where: e.where, ms: e.us / 1000, share: e.us / busy }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, topN),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [dir, scenario] = process.argv.slice(2);
  if (!dir) {
    console.error('usage: npm run bench:profile -- DIR [SCENARIO]   (DIR: the --cpu-prof folder of bench:load)');
    process.exit(2);
  }
  const names = await readdir(dir);
  const windows: ProfileWindow[] = [];
  for (const n of names.filter((n) => /^points-.*\.json$/.test(n)))
    windows.push(...(JSON.parse(await readFile(path.join(dir, n), 'utf8')) as ProfileWindow[]));
  const chosen = scenario ? windows.filter((w) => w.scenario === scenario) : undefined;
  if (chosen && chosen.length === 0) {
    console.error(
      `no point of scenario ${scenario} in ${dir}: ${[...new Set(windows.map((w) => w.scenario))].join(', ')}`,
    );
    process.exit(2);
  }
  for (const file of names.filter((n) => n.endsWith('.cpuprofile'))) {
    const s = summarizeProfile(JSON.parse(await readFile(path.join(dir, file), 'utf8')) as Profile, chosen);
    if (s.busyMs < 1) continue; // a process that did not serve this scenario (a cluster primary)
    console.log(
      `\n${file}${scenario ? ` during ${scenario}` : ''}: ${s.busyMs.toFixed(0)} ms busy of ${s.totalMs.toFixed(0)} ms sampled`,
    );
    for (const g of s.groups.filter((g) => g.share >= 0.005))
      console.log(`  ${(g.share * 100).toFixed(1).padStart(5)} %  ${g.name}`);
    console.log('  top functions (self time):');
    for (const f of s.top) console.log(`  ${(f.share * 100).toFixed(1).padStart(5)} %  ${f.fn}  ${f.where}`);
  }
}
