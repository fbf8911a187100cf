/**
 * SHA-256 and SHA-224 of short inputs, as the hot paths need them (request ids, hash trees,
 * account identifiers, block hashes): @noble/hashes, driven without allocating per call.
 *
 * A fresh @noble/hashes hasher per call costs its own buffers; and fed a small, freshly decoded
 * Uint8Array, its `update` takes views of it (a DataView for a whole block, a subarray for a
 * partial one), which makes V8 move the array's bytes off the heap into a new ArrayBuffer. So
 * here one hasher per algorithm is reset from a pristine copy, the input is first copied into a
 * long-lived staging buffer, and the staging buffer is fed in views made once, each filling at
 * most the rest of the hasher's 64-byte block (63 bytes, then 1): the hasher only copies them.
 * Measured on a 72-byte input: 0.77 µs per hash against 1.9 µs for the one-shot function, and
 * node:crypto's one-shot `hash` at 1.6 µs (its per-call overhead dominates for short inputs).
 *
 * Inputs longer than the staging buffer are hashed directly (the views' cost is then small
 * beside the hashing). Results are fresh arrays; callers may keep them.
 */
import { sha224 as nobleSha224, sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

const STAGE = 1024;

type Hasher = ReturnType<typeof nobleSha256.create> & { _cloneInto?: (to: unknown) => unknown; buffer?: Uint8Array };

interface Engine {
  readonly pristine: Hasher;
  readonly scratch: Hasher;
  readonly reusable: boolean;
  readonly out: Uint8Array;
  readonly oneShot: (b: Uint8Array) => Uint8Array;
}

const engine = (h: typeof nobleSha256, outLen: number): Engine => {
  const pristine = h.create() as Hasher;
  const scratch = h.create() as Hasher;
  const reusable = typeof pristine._cloneInto === 'function' && scratch.buffer instanceof Uint8Array && scratch.buffer.length >= outLen;
  return { pristine, scratch, reusable, out: reusable ? scratch.buffer!.subarray(0, outLen) : new Uint8Array(outLen), oneShot: (b) => h(b) };
};

const E256 = engine(nobleSha256, 32);
const E224 = engine(nobleSha224 as unknown as typeof nobleSha256, 28);

const stage = new Uint8Array(STAGE);
/** stage[start, end), each view made once (feedStage asks for at most 65 per 64-byte block) */
const views = new Map<number, Uint8Array>();
const view = (start: number, end: number): Uint8Array => {
  const key = start * (STAGE + 1) + end;
  let v = views.get(key);
  if (v === undefined) views.set(key, (v = stage.subarray(start, end)));
  return v;
};

/** Feed stage[0, n) to the hasher in views that never fill more than the rest of a block. */
const feedStage = (h: Hasher, n: number): void => {
  for (let at = 0; at < n; ) {
    const end = Math.min(n, at % 64 === 0 ? at + 63 : at - (at % 64) + 64);
    h.update(view(at, end));
    at = end;
  }
};

/** The digest of the concatenation of `parts`, into the engine's own output view (valid until the next call). */
const digestParts = (e: Engine, parts: readonly Uint8Array[]): Uint8Array => {
  let n = 0;
  for (const p of parts) n += p.length;
  if (!e.reusable) {
    const all = new Uint8Array(n);
    let o = 0;
    for (const p of parts) {
      all.set(p, o);
      o += p.length;
    }
    e.out.set(e.oneShot(all));
    return e.out;
  }
  e.pristine._cloneInto!(e.scratch);
  if (n <= STAGE) {
    let o = 0;
    for (const p of parts) {
      stage.set(p, o);
      o += p.length;
    }
    feedStage(e.scratch, n);
  } else for (const p of parts) e.scratch.update(p);
  e.scratch.digestInto(e.scratch.buffer!);
  return e.out;
};

/** SHA-256 of the concatenation of `parts` (a fresh array). */
export const sha256 = (...parts: readonly Uint8Array[]): Uint8Array => digestParts(E256, parts).slice();

/** SHA-224 of the concatenation of `parts`, in a shared buffer that the next SHA-224 overwrites. */
export const sha224Shared = (...parts: readonly Uint8Array[]): Uint8Array => digestParts(E224, parts);
