/**
 * Compiling the canisters icspec's tests run: Motoko (the `motoko` npm package, moc.js) and
 * WebAssembly text (the `wabt` npm package), behind a content-addressed cache.
 *
 * Cache: key = SHA-256 of (compiler name, compiler version, main file, every source file name
 * and text), entries `<key>.wasm` (and `<key>.did` for Motoko) under
 * `node_modules/.cache/icspec/`. A hit returns without loading a compiler (moc.js takes seconds
 * to load); writes go to a temporary file renamed into place, so parallel test workers are safe.
 * Set `ICSPEC_NO_COMPILE_CACHE=1` to bypass the cache (compile always, write nothing).
 *
 * Canisters live in the repository folder `canisters/`: `canisters/motoko/<name>.mo`,
 * `canisters/motoko/<name>/Main.mo` (with its sibling `.mo` files) or `canisters/wat/<name>.wat`.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join, relative, sep } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { packageRoot } from '../core/root.js';

/** What compiling a Motoko program yields. */
export interface MotokoOutput {
  readonly wasm: Uint8Array<ArrayBuffer>;
  /** The Candid service description (`service : { … }`). */
  readonly candid: string;
}

/** A canister from `canisters/`, compiled. */
export interface LoadedCanister {
  readonly name: string;
  readonly language: 'motoko' | 'wat';
  readonly wasm: Uint8Array<ArrayBuffer>;
  /** Motoko only: the Candid service description. */
  readonly candid?: string;
}

const require_ = createRequire(import.meta.url);

const packageVersion = (pkg: string): string =>
  (JSON.parse(readFileSync(require_.resolve(`${pkg}/package.json`), 'utf8')) as { version: string }).version;

let motokoVersion: string | undefined;
let wabtVersion: string | undefined;
/** The compiler identities that go into the cache key (npm package versions; read without loading the compilers). */
export const compilerVersions = (): { readonly motoko: string; readonly wabt: string } => {
  motokoVersion ??= packageVersion('motoko');
  wabtVersion ??= packageVersion('wabt');
  return { motoko: motokoVersion, wabt: wabtVersion };
};

// ---------------------------------------------------------------------------------------------
// The cache

const enc = new TextEncoder();
/** The cache format; bump to invalidate every entry. */
const CACHE_FORMAT = 'icspec-compile-cache-v2';

/** Length-prefixed concatenation, so that no two different inputs hash alike. */
const framed = (parts: readonly string[]): Uint8Array => {
  const bytes = parts.map((p) => enc.encode(p));
  const out = new Uint8Array(bytes.reduce((n, b) => n + 4 + b.length, 0));
  const view = new DataView(out.buffer);
  let o = 0;
  for (const b of bytes) {
    view.setUint32(o, b.length, true);
    out.set(b, o + 4);
    o += 4 + b.length;
  }
  return out;
};

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** The cache key of a compilation: hex SHA-256 of compiler, version, main file and every source (sorted by name). */
export const cacheKey = (compiler: string, version: string, main: string, files: Readonly<Record<string, string>>): string => {
  const names = Object.keys(files).sort();
  return hex(sha256(framed([CACHE_FORMAT, compiler, version, main, String(names.length), ...names.flatMap((n) => [n, files[n] ?? ''])])));
};

/** The cache key `compileMotoko(files, main)` uses. */
export const motokoCacheKey = (files: Readonly<Record<string, string>>, main: string): string =>
  cacheKey('moc', compilerVersions().motoko, main, files);

/** The cache key `compileWat(text, name)` uses. */
export const watCacheKey = (text: string, name: string): string => cacheKey('wabt', compilerVersions().wabt, name, { [name]: text });

/** The cache directory, `node_modules/.cache/icspec/` under the package root. */
export const cacheDir = (): string => join(packageRoot(), 'node_modules', '.cache', 'icspec');

const cacheEnabled = (): boolean => process.env['ICSPEC_NO_COMPILE_CACHE'] !== '1';

const readCached = (file: string): Buffer | undefined => {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
};

/** Write `data` to `file` atomically: a temporary file in the same directory, then rename. */
const writeAtomic = (file: string, data: Uint8Array | string): void => {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
};

const store = (key: string, wasm: Uint8Array, candid?: string): void => {
  if (!cacheEnabled()) return;
  try {
    const dir = cacheDir();
    mkdirSync(dir, { recursive: true });
    // The .did first: a reader that sees the .wasm then also sees the .did.
    if (candid !== undefined) writeAtomic(join(dir, `${key}.did`), candid);
    writeAtomic(join(dir, `${key}.wasm`), wasm);
  } catch {
    // A read-only or full disk only costs speed.
  }
};

/** A copy (not a view of a possibly shared Node buffer). */
const u8 = (b: Buffer): Uint8Array<ArrayBuffer> => new Uint8Array(b);

// ---------------------------------------------------------------------------------------------
// Motoko

/** The subset of the `motoko` package's API used here. */
interface Moc {
  write(path: string, content: string): void;
  delete(path: string): void;
  wasm(path: string, mode: 'ic' | 'wasi'): { wasm: Uint8Array; candid: string };
  check(path: string): ReadonlyArray<{
    source: string;
    severity: number;
    range: { start: { line: number; character: number } };
    code?: string;
    message: string;
  }>;
  loadPackage(pkg: { name: string; version: string; files: Record<string, { content: string }> }): void;
}

let moc: Promise<Moc> | undefined;
/** Load moc.js (once per process) and the bundled `core` package (offline, from the npm package). */
const loadMoc = (): Promise<Moc> => {
  moc ??= import('motoko').then((m) => {
    const exported = (m as unknown as { default: Moc & { default?: Moc } }).default;
    const mo = exported.default ?? exported;
    const core = JSON.parse(readFileSync(join(require_.resolve('motoko/package.json'), '..', 'packages', 'latest', 'core.json'), 'utf8'));
    mo.loadPackage(core);
    return mo;
  });
  return moc;
};

const SEVERITY: Readonly<Record<number, string>> = { 1: 'error', 2: 'warning', 3: 'info', 4: 'hint' };


/**
 * Compile a Motoko program (`files`: path → text, paths relative to one virtual directory;
 * `main`: the actor file) for the IC, with moc's defaults (enhanced orthogonal persistence,
 * 64-bit memory). Imports `mo:core/…` resolve to the `core` package bundled with moc.js.
 * Rejects with moc's diagnostics (`file:line:col: error [code] message`) if it does not compile.
 *
 * Each compilation runs in a process of its own (`moc-worker.js`): moc.js keeps state between
 * compilations in one process, and the bytes it produces depend on what it compiled before, so
 * only a fresh compiler gives the same module for the same sources every time.
 */
export const compileMotoko = async (files: Readonly<Record<string, string>>, main: string): Promise<MotokoOutput> => {
  if (!(main in files)) throw new Error(`compileMotoko: main file ${main} is not among the files (${Object.keys(files).join(', ')})`);
  const key = motokoCacheKey(files, main);
  if (cacheEnabled()) {
    const dir = cacheDir();
    const wasm = readCached(join(dir, `${key}.wasm`));
    const did = wasm && readCached(join(dir, `${key}.did`));
    if (wasm && did) return { wasm: u8(wasm), candid: did.toString('utf8') };
  }
  const worker = join(packageRoot(), 'dist', 'src', 'toolchain', 'moc-worker.js');
  let out: MotokoOutput;
  if (existsSync(worker)) {
    const r = spawnSync(process.execPath, [worker], { input: JSON.stringify({ files, main }), maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' });
    let res: { wasm?: string; candid?: string; error?: string };
    try {
      res = JSON.parse(r.stdout) as typeof res;
    } catch {
      throw new Error(`moc: the compiler process failed: ${r.stderr || r.error?.message || `exit ${r.status}`}`);
    }
    if (res.error !== undefined) throw new Error(res.error);
    out = { wasm: u8(Buffer.from(res.wasm!, 'base64')), candid: res.candid! };
  } else out = await compileMotokoHere(files, main); // not built yet: in this process
  store(key, out.wasm, out.candid);
  return out;
};

/**
 * Compile a Motoko program (`files`: path → text, paths relative to one virtual directory;
 * `main`: the actor file) for the IC, with moc's defaults (enhanced orthogonal persistence,
 * 64-bit memory). Imports `mo:core/…` resolve to the `core` package bundled with moc.js.
 * Rejects with moc's diagnostics (`file:line:col: error [code] message`) if it does not compile.
 */
export const compileMotokoHere = async (files: Readonly<Record<string, string>>, main: string): Promise<MotokoOutput> => {
  if (!(main in files)) throw new Error(`compileMotoko: main file ${main} is not among the files (${Object.keys(files).join(', ')})`);
  const key = motokoCacheKey(files, main);
  const mo = await loadMoc();
  // a path that depends only on the sources: moc embeds file paths (e.g. in assertion messages),
  // so a path with the process id would make the module differ from one compilation to the next
  const root = `/icspec-src/${key.slice(0, 16)}`;
  const paths = Object.keys(files).map((f) => `${root}/${f}`);
  Object.entries(files).forEach(([f, text]) => mo.write(`${root}/${f}`, text));
  try {
    let out: { wasm: Uint8Array; candid: string };
    try {
      out = mo.wasm(`${root}/${main}`, 'ic');
    } catch (e) {
      let diags: string;
      try {
        diags = mo
          .check(`${root}/${main}`)
          .filter((d) => d.severity === 1)
          .map((d) => {
            const src = d.source.startsWith(root + '/') ? d.source.slice(root.length + 1) : d.source;
            return `${src}:${d.range.start.line + 1}:${d.range.start.character + 1}: ${SEVERITY[d.severity] ?? 'error'}${d.code ? ` [${d.code}]` : ''} ${d.message}`;
          })
          .join('\n');
      } catch {
        diags = '';
      }
      throw new Error(`moc: ${main} does not compile:\n${diags || (e instanceof Error ? e.message : String(e))}`);
    }
    return { wasm: new Uint8Array(out.wasm), candid: out.candid };
  } finally {
    paths.forEach((p) => {
      try {
        mo.delete(p);
      } catch {
        // already gone
      }
    });
  }
};

// ---------------------------------------------------------------------------------------------
// WebAssembly text

interface Wabt {
  parseWat(
    filename: string,
    text: string,
    features?: Record<string, boolean>,
  ): { resolveNames(): void; validate(): void; toBinary(o: object): { buffer: Uint8Array }; destroy(): void };
}

let wabt: Promise<Wabt> | undefined;
const loadWabt = (): Promise<Wabt> => {
  wabt ??= import('wabt').then((m) => (m.default as unknown as () => Promise<Wabt>)());
  return wabt;
};

/** The Wasm features compileWat accepts (the IC's own set is narrower; the validator decides). */
export const WAT_FEATURES: Readonly<Record<string, boolean>> = {
  mutable_globals: true,
  sat_float_to_int: true,
  sign_extension: true,
  multi_value: true,
  bulk_memory: true,
  reference_types: true,
  multi_memory: true,
  memory64: true,
  simd: true,
};

/** Assemble WebAssembly text to a binary module; rejects with wabt's message (`name:line:col: error: …`). */
export const compileWat = async (text: string, name: string): Promise<Uint8Array<ArrayBuffer>> => {
  const key = watCacheKey(text, name);
  if (cacheEnabled()) {
    const hit = readCached(join(cacheDir(), `${key}.wasm`));
    if (hit) return u8(hit);
  }
  const w = await loadWabt();
  let wasm: Uint8Array<ArrayBuffer>;
  try {
    const m = w.parseWat(name, text, { ...WAT_FEATURES });
    try {
      m.resolveNames();
      m.validate();
      wasm = new Uint8Array(m.toBinary({}).buffer);
    } finally {
      m.destroy();
    }
  } catch (e) {
    throw new Error(`wabt: ${e instanceof Error ? e.message : String(e)}`.trimEnd());
  }
  store(key, wasm);
  return wasm;
};

/** Whether this process has loaded each compiler (a cache hit loads neither). */
export const compilersLoaded = (): { readonly moc: boolean; readonly wabt: boolean } => ({ moc: moc !== undefined, wabt: wabt !== undefined });

// ---------------------------------------------------------------------------------------------
// canisters/

/** The repository folder of canister sources. */
export const canistersDir = (): string => join(packageRoot(), 'canisters');

/** Every `.mo` file under `dir`, path relative to `dir` (with `/`) → text. */
const motokoFiles = (dir: string): Record<string, string> => {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (e.endsWith('.mo')) out[relative(dir, p).split(sep).join('/')] = readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return out;
};

/** The names of the canisters in `canisters/` (sorted), each with its language. */
export const listCanisters = (): ReadonlyArray<{ readonly name: string; readonly language: 'motoko' | 'wat' }> => {
  const root = canistersDir();
  const mo = join(root, 'motoko');
  const wat = join(root, 'wat');
  const out: Array<{ name: string; language: 'motoko' | 'wat' }> = [];
  if (existsSync(mo))
    for (const e of readdirSync(mo)) {
      if (e.endsWith('.mo')) out.push({ name: e.slice(0, -3), language: 'motoko' });
      else if (existsSync(join(mo, e, 'Main.mo'))) out.push({ name: e, language: 'motoko' });
    }
  if (existsSync(wat)) for (const e of readdirSync(wat)) if (e.endsWith('.wat')) out.push({ name: e.slice(0, -4), language: 'wat' });
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
};

/**
 * Compile (cached) the canister `name` from `canisters/`: `motoko/<name>.mo`,
 * `motoko/<name>/Main.mo` (plus its sibling `.mo` files) or `wat/<name>.wat`.
 */
export const loadCanister = async (name: string): Promise<LoadedCanister> => {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`loadCanister: bad canister name ${JSON.stringify(name)}`);
  const root = canistersDir();
  const found = [join(root, 'motoko', `${name}.mo`), join(root, 'motoko', name, 'Main.mo'), join(root, 'wat', `${name}.wat`)].filter((p) =>
    existsSync(p),
  );
  if (found.length === 0) throw new Error(`loadCanister: no canister ${name} in ${root} (motoko/${name}.mo, motoko/${name}/Main.mo, wat/${name}.wat)`);
  if (found.length > 1) throw new Error(`loadCanister: canister ${name} is ambiguous: ${found.map((p) => relative(root, p)).join(', ')}`);
  const file = found[0]!;
  if (file.endsWith('.wat')) return { name, language: 'wat', wasm: await compileWat(readFileSync(file, 'utf8'), `${name}.wat`) };
  if (file.endsWith(join(name, 'Main.mo'))) {
    const out = await compileMotoko(motokoFiles(join(root, 'motoko', name)), 'Main.mo');
    return { name, language: 'motoko', ...out };
  }
  const out = await compileMotoko({ [`${name}.mo`]: readFileSync(file, 'utf8') }, `${name}.mo`);
  return { name, language: 'motoko', ...out };
};
