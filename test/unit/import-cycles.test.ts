// Unit tier: no import cycle in src/, between files or between folders. A cycle means two owners that each
// need the other, which is where "built in two steps" and "set after construction" come from; Biome's
// noImportCycles sees files only, and not type imports, so this reads every import itself (type ones too).
// A folder is a file's directory (src/domain/sessions, src/routes, …); a file directly in src/ (app, config,
// errors, services) is a unit of its own, since the root composes the folders.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SRC = join(ROOT, 'src');
const SKIP = new Set([join(SRC, 'generated')]);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return SKIP.has(path) ? [] : sources(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"`;]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

/** The src/ files a file imports (relative specifiers only; `.js` in a specifier names the `.ts` source). */
function importsOf(file: string, known: Set<string>): string[] {
  const text = readFileSync(file, 'utf8');
  const out = new Set<string>();
  for (const m of text.matchAll(IMPORT)) {
    const target = resolve(dirname(file), (m[1] ?? m[2])!).replace(/\.js$/, '.ts');
    if (known.has(target)) out.add(target);
  }
  return [...out];
}

/** Strongly connected components with more than one member (Tarjan): each one is a cycle. */
function cycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) found.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

const files = sources(SRC);
const known = new Set(files);
const rel = (p: string) => relative(ROOT, p);
const unitOf = (file: string) => (dirname(file) === SRC ? rel(file) : rel(dirname(file)));

const fileGraph = new Map<string, Set<string>>();
const folderGraph = new Map<string, Set<string>>();
for (const file of files) {
  const targets = importsOf(file, known);
  fileGraph.set(rel(file), new Set(targets.map(rel)));
  const from = unitOf(file);
  const edges = folderGraph.get(from) ?? new Set<string>();
  for (const target of targets) if (unitOf(target) !== from) edges.add(unitOf(target));
  folderGraph.set(from, edges);
}

t.test('the reader finds the imports it is meant to check', async (t) => {
  t.ok(files.length > 50, 'it reads the files of src/');
  t.ok(
    fileGraph.get('src/app.ts')?.has('src/services.ts'),
    'src/app.ts imports src/services.ts: an edge a cycle would run through is seen',
  );
  t.same(
    cycles(
      new Map([
        ['a', new Set(['b'])],
        ['b', new Set(['c'])],
        ['c', new Set(['a'])],
        ['d', new Set(['a'])],
      ]),
    ),
    [['a', 'b', 'c']],
    'a three-file cycle is reported, and a file merely importing into it is not part of it',
  );
});

t.test('no two files of src/ import each other, directly or around a loop', async (t) => {
  t.same(cycles(fileGraph), [], 'file import cycles (each list is one cycle)');
});

t.test('no two folders of src/ import each other, directly or around a loop', async (t) => {
  t.same(cycles(folderGraph), [], 'folder import cycles (each list is one cycle)');
});
