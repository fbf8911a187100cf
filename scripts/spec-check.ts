/**
 * spec:check — ties the written spec to code and tests.
 * Definitions: headings `### [ID] Title` in spec/*.md. Citations: `[ID]` (or a quoted 'ID')
 * in src/ (code), properties/ and clients/ (tests), spec/quint/*.qnt (models), and
 * `#meta.requirements` in traces/ (traces). A requirement a model cites must be exercised by a
 * trace: the model's own traces, replayed against the reference, tie the two together.
 * Writes spec/COVERAGE.md; fails when a requirement lacks code or a test/trace, or when
 * anything cites an unknown ID.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { packageRoot } from '../src/core/root.js';

const root = packageRoot();
const ID = '[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+\\.[0-9]+';
const DEF_RE = new RegExp(`^#{2,4}\\s+\\[(${ID})\\]\\s*(.*)$`);
const CITE_RE = new RegExp(`\\[(${ID})\\]|['"](${ID})['"]`, 'g');

const walk = (dir: string, ok: (f: string) => boolean): string[] => {
  const out: string[] = [];
  const go = (d: string) => {
    let entries: string[];
    try {
      entries = readdirSync(d);
    } catch {
      return;
    }
    for (const e of entries.sort()) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) {
        if (e !== 'node_modules') go(p);
      }
      else if (ok(p)) out.push(p);
    }
  };
  go(join(root, dir));
  return out;
};

interface Def {
  id: string;
  title: string;
  file: string;
  line: number;
}
const defs = new Map<string, Def>();
const problems: string[] = [];
for (const f of walk('spec', (p) => p.endsWith('.md') && !p.endsWith('COVERAGE.md'))) {
  readFileSync(f, 'utf8')
    .split('\n')
    .forEach((l, i) => {
      const m = DEF_RE.exec(l);
      if (!m) return;
      if (defs.has(m[1]!)) problems.push(`${relative(root, f)}:${i + 1}: ${m[1]} is defined twice`);
      defs.set(m[1]!, { id: m[1]!, title: m[2]!.trim(), file: relative(root, f), line: i + 1 });
    });
}

type Where = Map<string, Set<string>>;
const cites = (files: string[]): Where => {
  const w: Where = new Map();
  for (const f of files) {
    const lines = readFileSync(f, 'utf8').split('\n');
    lines.forEach((l, i) => {
      for (const m of l.matchAll(CITE_RE)) {
        const id = (m[1] ?? m[2])!;
        if (!w.has(id)) w.set(id, new Set());
        w.get(id)!.add(`${relative(root, f)}:${i + 1}`);
      }
    });
  }
  return w;
};

const code = cites(walk('src', (p) => p.endsWith('.ts')));
// tests: the properties, and the suites of the real clients (clients/, outside its node_modules)
const props = cites([...walk('properties', (p) => p.endsWith('.ts')), ...walk('clients', (p) => p.endsWith('.test.ts'))]);
const models = cites(walk(join('spec', 'quint'), (p) => p.endsWith('.qnt')));
const traces: Where = new Map();
for (const f of walk('traces', (p) => p.endsWith('.json'))) {
  let meta: { requirements?: unknown } | undefined;
  try {
    meta = (JSON.parse(readFileSync(f, 'utf8')) as { '#meta'?: { requirements?: unknown } })['#meta'];
  } catch {
    continue; // deliberately malformed traces (bad-input fixtures) cite nothing
  }
  const reqs = Array.isArray(meta?.requirements) ? (meta!.requirements as unknown[]) : [];
  for (const r of reqs) {
    if (typeof r !== 'string') continue;
    if (!traces.has(r)) traces.set(r, new Set());
    traces.get(r)!.add(relative(root, f));
  }
}

for (const [kind, w] of [['code', code], ['property', props], ['model', models], ['trace', traces]] as const)
  for (const [id, where] of w) if (!defs.has(id)) problems.push(`${kind} cites unknown requirement ${id} at ${[...where].slice(0, 3).join(', ')}`);

const rows: string[] = [];
let missing = 0;
for (const d of [...defs.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
  const c = [...(code.get(d.id) ?? [])];
  const p = [...(props.get(d.id) ?? [])];
  const t = [...(traces.get(d.id) ?? [])];
  const q = [...(models.get(d.id) ?? [])];
  if (q.length > 0 && t.length === 0) problems.push(`${d.id} (${d.file}:${d.line}) is cited by ${q[0]} but no trace exercises it`);
  if (c.length === 0) problems.push(`${d.id} (${d.file}:${d.line}) has no implementing code in src/`);
  if (p.length === 0 && t.length === 0) problems.push(`${d.id} (${d.file}:${d.line}) has no property and no trace`);
  if (c.length === 0 || (p.length === 0 && t.length === 0)) missing++;
  // files only (with the number of citations): line numbers would make the file churn on every edit
  const list = (xs: string[]) => {
    if (xs.length === 0) return '—';
    const byFile = new Map<string, number>();
    for (const x of xs) {
      const f = x.replace(/:\d+$/, '');
      byFile.set(f, (byFile.get(f) ?? 0) + 1);
    }
    return [...byFile].map(([f, k]) => `\`${f}\`${k > 1 ? ` ×${k}` : ''}`).join('<br>');
  };
  rows.push(`| [${d.id}](${d.file.replace(/^spec\//, '')}#L${d.line}) | ${d.title} | ${list(c)} | ${list(p)} | ${list(q)} | ${t.length === 0 ? '—' : `${t.length} trace${t.length > 1 ? 's' : ''}`} |`);
}

const md = `# Requirement coverage

Generated by \`npm run spec:check\` — do not edit. ${defs.size} requirements; ${defs.size - missing} fully covered.

| Requirement | Title | Code | Properties | Models | Traces |
|---|---|---|---|---|---|
${rows.join('\n')}
`;
const coverageFile = join(root, 'spec', 'COVERAGE.md');
let previous = '';
try {
  previous = readFileSync(coverageFile, 'utf8');
} catch {
  // first run
}
if (previous !== md) {
  writeFileSync(coverageFile, md);
  // In CI the committed COVERAGE.md must already be current: a stale one is a failure.
  if (process.env.CI) problems.push('spec/COVERAGE.md was out of date (regenerated now: run npm run spec:check and commit it)');
  else process.stdout.write('spec:check: spec/COVERAGE.md updated\n');
}

if (problems.length) {
  for (const p of problems) process.stderr.write(`spec:check: ${p}\n`);
  process.stderr.write(`spec:check: ${problems.length} problem(s); spec/COVERAGE.md written\n`);
  process.exitCode = 1;
} else {
  process.stdout.write(`spec:check: ${defs.size} requirements, all implemented and tested; spec/COVERAGE.md written\n`);
}
