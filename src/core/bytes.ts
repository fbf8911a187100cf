/** Byte helpers: hex and "binary strings" (one char per byte, used as compact map keys). */
import { hex } from '@scure/base';

export type Bytes = Uint8Array;

/**
 * Lowercase hex (Node's native encoder: this sits on the hot path of every transfer). Short
 * inputs are copied into one long-lived Buffer first: wrapping `b.buffer` instead would make V8
 * move a small, freshly made Uint8Array's bytes off the heap into a new ArrayBuffer, which costs
 * far more than the copy.
 */
const HEX_SCRATCH = Buffer.alloc(256);
export const toHex = (b: Bytes): string => {
  if (b.length <= HEX_SCRATCH.length) {
    HEX_SCRATCH.set(b);
    return HEX_SCRATCH.toString('hex', 0, b.length);
  }
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
};

/** Strict lowercase/uppercase hex of even length; undefined when malformed. */
export const fromHex = (s: string): Bytes | undefined => {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) return undefined;
  return hex.decode(s.toLowerCase());
};

export const concatBytes = (...parts: readonly Bytes[]): Bytes => {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

export const bytesEqual = (a: Bytes, b: Bytes): boolean => {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
};

export const utf8 = (s: string): Bytes => new TextEncoder().encode(s);

/** Bytewise order (a proper prefix first). */
export const compareBytes = (a: Bytes, b: Bytes): number => {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
};

/** The length of a string's UTF-8 encoding, without encoding it (a lone surrogate encodes as U+FFFD, 3 bytes). */
export const utf8Length = (s: string): number => {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
};
