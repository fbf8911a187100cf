/** What the Quint trace generators (traces-gen.ts, consensus-traces-gen.ts) share. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

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
