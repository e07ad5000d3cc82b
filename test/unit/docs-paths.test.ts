// Unit tier: configuration and docs that name paths must name paths that exist. A Biome override whose
// `includes` matches no file checks nothing, silently (the verifier's isolation rule targeted src/verify/**
// for weeks after the verifier moved to packages/verify); a knip entry that matches nothing hides unused
// code; a link in README, CONTRIBUTING or a docs/ page (to a file or a section), or a source path a comment names, that leads nowhere sends a newcomer
// the wrong way. Reads the working tree only.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const IGNORED = new Set(['node_modules', '.git', 'dist', '.tap', 'data', 'coverage']);

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (IGNORED.has(e.name)) return [];
    const path = join(dir, e.name);
    return e.isDirectory() ? [`${relative(ROOT, path)}/`, ...walk(path)] : [relative(ROOT, path)];
  });
}
/** Every file and folder of the repository (folders end in /), relative to its root. */
const PATHS = walk(ROOT);
const FILES = new Set(PATHS.filter((p) => !p.endsWith('/')));
const exists = (p: string) => FILES.has(p) || PATHS.includes(`${p.replace(/\/$/, '')}/`);

/** A glob as Biome and knip read it: `**` any depth, `*` within a segment, `{a,b}` either. */
function globRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (glob.startsWith('**/', i)) {
      re += '(?:.*/)?';
      i += 2;
    } else if (glob.startsWith('**', i)) {
      re += '.*';
      i += 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '{') re += '(?:';
    else if (c === '}') re += ')';
    else if (c === ',') re += '|';
    else re += c.replace(/[.+^$()|[\]\\]/g, '\\$&');
  }
  // A pattern naming a folder covers what is inside it.
  return new RegExp(`^${re}(?:/.*)?$`);
}
const matchesAny = (glob: string, base = '') => {
  const re = globRegExp(glob);
  return PATHS.some((p) => p.startsWith(base) && re.test(p.slice(base.length).replace(/\/$/, '')));
};

t.test('the glob reader matches as Biome and knip do', async (t) => {
  t.ok(globRegExp('src/**').test('src/domain/clock.ts'), '** spans folders');
  t.notOk(globRegExp('scripts/*.{ts,mjs}').test('scripts/a/b.ts'), '* stays within a folder');
  t.ok(globRegExp('scripts/*.{ts,mjs}').test('scripts/keys.mjs'), '{a,b} is either');
  t.ok(globRegExp('src/generated').test('src/generated/prisma/client.ts'), 'a folder covers its files');
  t.notOk(matchesAny('src/verify/**'), 'the old verifier folder matches nothing: this is the hole the test closes');
});

t.test('every Biome path pattern matches a file', async (t) => {
  const biome = JSON.parse(readFileSync(join(ROOT, 'biome.json'), 'utf8')) as {
    files?: { includes?: string[] };
    overrides?: { includes?: string[] }[];
  };
  const patterns = [...(biome.files?.includes ?? []), ...(biome.overrides ?? []).flatMap((o) => o.includes ?? [])];
  t.ok(patterns.length > 5, 'biome.json names paths');
  for (const pattern of patterns) {
    const glob = pattern.replace(/^!/, '');
    t.ok(matchesAny(glob), `biome.json's ${pattern} matches at least one path, so its rule applies somewhere`);
  }
});

t.test('every knip entry and project pattern matches a file of its workspace', async (t) => {
  const knip = JSON.parse(readFileSync(join(ROOT, 'knip.json'), 'utf8')) as {
    workspaces: Record<string, { entry?: string[]; project?: string[] }>;
  };
  for (const [workspace, config] of Object.entries(knip.workspaces)) {
    const base = workspace === '.' ? '' : `${workspace}/`;
    for (const pattern of [...(config.entry ?? []), ...(config.project ?? [])]) {
      t.ok(matchesAny(pattern.replace(/^!/, ''), base), `knip's ${base}${pattern} matches at least one file`);
    }
  }
});

// [text](target): a relative target and its #anchor. `path` in backticks that starts with a source folder.
const LINK = /\]\(([^)\s]+)\)/g;
const CODE_PATH = /`((?:src|packages|test|docs|scripts|bench|examples)\/[\w./-]*\w\/?)`/g;

/** The anchors GitHub gives a Markdown file's headings: lower case, punctuation dropped, spaces to hyphens. */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6} (.+)$/.exec(line);
    if (!heading) continue;
    const base = heading[1]!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** README, CONTRIBUTING and every page of docs/ (not the decision records, which keep the paths of their day). */
const DOCS = ['README.md', 'CONTRIBUTING.md', ...[...FILES].filter((f) => /^docs\/[^/]+\.md$/.test(f)).sort()];

t.test('the anchor reader names headings as GitHub does', async (t) => {
  const anchors = anchorsOf(
    '# Tessera\n## Service tokens (client_credentials)\n### Email: verification, reset\n## Not built yet\n## Not built yet\n```sh\n# a comment\n```\n',
  );
  t.ok(anchors.has('service-tokens-client_credentials'), 'punctuation goes, underscores stay');
  t.ok(anchors.has('email-verification-reset'), 'a colon and a comma go');
  t.ok(anchors.has('not-built-yet-1'), 'a repeated heading gets a number');
  t.notOk(anchors.has('a-comment'), 'a comment in a code block is no heading');
});

t.test('the docs pages are README, CONTRIBUTING and every docs/*.md', async (t) => {
  t.ok(DOCS.includes('docs/spa.md') && DOCS.includes('docs/operations.md'), 'docs/ pages are checked');
  t.ok(DOCS.length > 10, `a dozen pages or more are checked (${DOCS.length})`);
});

t.test('README stays the front door: short, with a map that links every docs page', async (t) => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const lines = readme.split('\n').length;
  t.ok(lines <= 250, `README has ${lines} lines (at most 250): the rest lives in docs/ by reader`);
  const linked = new Set([...readme.matchAll(LINK)].map((m) => m[1]!.split('#')[0]));
  const missing = DOCS.filter((d) => d.startsWith('docs/') && !linked.has(d));
  t.same(missing, [], 'every docs/*.md page is reachable from the README');
});

for (const doc of DOCS) {
  t.test(
    `every repository file ${doc} links or names exists, and every #anchor it links to is a heading`,
    async (t) => {
      const text = readFileSync(join(ROOT, doc), 'utf8');
      const targets = new Set<string>();
      const anchors: [string, string][] = [];
      for (const m of text.matchAll(LINK)) {
        const [target = '', anchor] = m[1]!.split('#');
        if (/^[a-z]+:/.test(target)) continue;
        // Relative to the page that links, as GitHub and every Markdown viewer resolve it.
        const path = target ? relative(ROOT, resolve(ROOT, dirname(doc), target)) : doc;
        if (target) targets.add(path);
        if (anchor !== undefined) anchors.push([path, anchor]);
      }
      for (const m of text.matchAll(CODE_PATH)) targets.add(m[1]!);
      for (const target of targets) {
        if (target.split('/').includes('dist')) continue; // what `npm run build` writes, not a repository file
        t.ok(exists(target), `${doc} names ${target}, which exists`);
      }
      for (const [path, anchor] of anchors) {
        if (!path.endsWith('.md') || !FILES.has(path)) continue; // a missing file is reported above
        t.ok(
          anchorsOf(readFileSync(join(ROOT, path), 'utf8')).has(anchor),
          `${doc} links to ${path}#${anchor}, a heading there, so the reader lands on the section`,
        );
      }
    },
  );
}

t.test('every src/ path a source comment names exists', async (t) => {
  const named = /\bsrc\/[\w/.-]*\w\.ts\b/g;
  for (const file of [...FILES].filter((f) => /^(src|packages\/verify\/src)\/.*\.ts$/.test(f))) {
    if (file.startsWith('src/generated/')) continue;
    for (const line of readFileSync(join(ROOT, file), 'utf8').split('\n')) {
      if (!/^\s*(\/\/|\*|\/\*)/.test(line)) continue;
      for (const m of line.matchAll(named)) t.ok(exists(m[0]), `${file} names ${m[0]}, which exists`);
    }
  }
});
