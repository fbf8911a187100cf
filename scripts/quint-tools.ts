/** What the Quint trace generators (traces-gen.ts, consensus-traces-gen.ts) share. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

export class GenError extends Error {}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export interface Doc {
  '#meta': Record<string, Json>;
  vars: string[];
  states: Array<Record<string, Json>>;
}

export const SEED_RE = /^(0x[0-9a-fA-F]+|[0-9]+)$/;

/** The quint CLI of the project's devDependency. */
export const quintBin = (root: string): string => {
  const bin = join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'quint.cmd' : 'quint');
  if (!existsSync(bin)) throw new GenError(`quint CLI not found at ${bin}: run \`npm install\` (devDependency @informalsystems/quint)`);
  return bin;
};

/** One state per line: stable, diff-friendly output. */
export const render = (doc: Doc): string =>
  `{"#meta":${JSON.stringify(doc['#meta'])},\n"vars":${JSON.stringify(doc.vars)},\n"states":[\n${doc.states.map((s) => JSON.stringify(s)).join(',\n')}\n]}\n`;

/** Reads `--flag value` arguments one at a time, with checked values. */
export class Args {
  private i = -1;
  constructor(private readonly argv: readonly string[]) {}
  /** the next flag, or undefined at the end */
  next(): string | undefined {
    this.i++;
    return this.argv[this.i];
  }
  private flag(): string {
    return this.argv[this.i]!;
  }
  value(): string {
    const v = this.argv[++this.i];
    if (v === undefined) throw new GenError(`${this.flag()} needs a value`);
    return v;
  }
  posInt(): number {
    const f = this.flag();
    const v = this.value();
    if (!/^[1-9][0-9]*$/.test(v)) throw new GenError(`${f} must be a positive integer, got "${v}"`);
    return Number(v);
  }
  seed(): string {
    const f = this.flag();
    const v = this.value();
    if (!SEED_RE.test(v)) throw new GenError(`${f} must be decimal or 0x-hex, got "${v}"`);
    return v;
  }
}

/** Is this module the script node was started with? */
export const isMainScript = (name: string): boolean => process.argv[1] !== undefined && resolve(process.argv[1]).replace(/\.ts$/, '.js').endsWith(join('scripts', name));

/** What every trace generator takes: `--seed S --out DIR --n N --steps K`, over its defaults. */
export interface BasicGenOptions {
  readonly seed: string;
  readonly out: string;
  readonly n: number;
  readonly steps: number;
}

/**
 * Parse the basic flags over `defaults`; a generator with flags of its own reads them in `extra`
 * (it answers whether it took the flag, reading any value from `args`).
 */
export const parseBasicArgs = (argv: readonly string[], defaults: BasicGenOptions, usage: string, extra?: (flag: string, args: Args) => boolean): BasicGenOptions => {
  let { seed, out, n, steps } = defaults;
  const args = new Args(argv);
  for (let a = args.next(); a !== undefined; a = args.next()) {
    switch (a) {
      case '--seed':
        seed = args.seed();
        break;
      case '--out':
        out = args.value();
        break;
      case '--n':
        n = args.posInt();
        break;
      case '--steps':
        steps = args.posInt();
        break;
      default:
        if (extra?.(a, args) !== true) throw new GenError(`unknown argument "${a}" (${usage})`);
    }
  }
  return { seed, out, n, steps };
};

/** Run a generator's main: a GenError is printed as `<name>: <message>` and exits 1. */
export const runGenerator = (name: string, main: () => void): void => {
  try {
    main();
  } catch (e) {
    if (e instanceof GenError) {
      process.stderr.write(`${name}: ${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
};

/**
 * `quint <args>` in the project root; a failure (an invariant violation is one: a model bug) is a
 * GenError with quint's first lines.
 */
export const runQuintOrFail = (root: string, args: readonly string[]): void => {
  const bin = quintBin(root);
  const r = spawnSync(bin, args, { cwd: root, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw new GenError(`cannot run ${bin}: ${r.error.message}`);
  if (r.status !== 0) {
    const msg = `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').filter((l) => l.trim() !== '' && !l.includes('npm warn')).slice(0, 20).join('\n');
    throw new GenError(`quint run failed (exit ${r.status}; an invariant violation means a model bug):\n${msg}`);
  }
};

/** The files `trace_0.itf.json` … quint wrote into `out`, each rewritten by `normalize`. */
export const normalizeAll = (out: string, n: number, normalize: (raw: string, file: string, i: number) => string): string[] => {
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const f = join(out, `trace_${i}.itf.json`);
    if (!existsSync(f)) throw new GenError(`quint did not write ${f}`);
    writeFileSync(f, normalize(readFileSync(f, 'utf8'), f, i));
    files.push(f);
  }
  return files;
};

/** The output folder of a run (made if absent, its old `trace_<i>.itf.json` removed), after checking the seed. */
export const prepareOut = (root: string, opts: Pick<BasicGenOptions, 'seed' | 'out'>): string => {
  if (!SEED_RE.test(opts.seed)) throw new GenError(`the seed must be decimal or 0x-hex, got "${opts.seed}"`);
  const out = isAbsolute(opts.out) ? opts.out : join(root, opts.out);
  mkdirSync(out, { recursive: true });
  for (const f of readdirSync(out)) if (/^trace_\d+\.itf\.json$/.test(f)) rmSync(join(out, f));
  return out;
};

