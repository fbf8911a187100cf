/**
 * Module references in execution traces ([EXE-TRACE.1]): an `InstallCode` action may name its
 * Wasm module by a path relative to the trace file and its SHA-256 instead of carrying it
 * inline. The loader resolves the reference before decoding; a missing file or a wrong hash is
 * bad input at the pointer of the reference.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '../core/bytes.js';

export type Resolved = { readonly ok: unknown } | { readonly pointer: string; readonly message: string };

export const resolveExecutionArgs = (tag: string, raw: unknown, dir: string): Resolved => (tag === 'InstallCode' ? resolveWasm(raw, dir) : { ok: raw });

/** The same for the `execution_abstract` machine, whose `Init` names the universal canister's module. */
export const resolveAbstractArgs = (tag: string, raw: unknown, dir: string): Resolved => (tag === 'Init' ? resolveWasm(raw, dir) : { ok: raw });

/** An argument record's `wasm` given by path: read, checked against its SHA-256, inlined. */
const resolveWasm = (raw: unknown, dir: string): Resolved => {
  const a = raw as { wasm?: { tag?: string; value?: { path?: string; sha256?: string } } };
  if (a.wasm?.tag !== 'Path') return { ok: raw };
  const { path, sha256: want } = a.wasm.value ?? {};
  if (typeof path !== 'string' || typeof want !== 'string') return { ok: raw };
  if (isAbsolute(path)) return { pointer: '/wasm/value/path', message: `a module path must be relative to the trace file, got "${path}"` };
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(join(dir, path)));
  } catch (e) {
    return { pointer: '/wasm/value/path', message: `cannot read the module ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
  const got = toHex(sha256(bytes));
  if (got !== want.toLowerCase()) return { pointer: '/wasm/value/sha256', message: `the SHA-256 of ${path} is ${got}, not ${want}` };
  return { ok: { ...a, wasm: { tag: 'Inline', value: toHex(bytes) } } };
};
