/**
 * The representation-independent hash of the IC's HTTP interface ([HTTP-REQUEST-ID.1]): how a
 * request's content becomes its request id, and how signed maps (delegations, query responses)
 * are hashed. A pure function of the decoded CBOR value.
 */
import { sha256 } from '../core/hash.js';
import { compareBytes, concatBytes, utf8 } from '../core/bytes.js';

/** The values the hash is defined for: text, naturals, blobs, arrays and maps of them. */
export type RiValue = string | bigint | number | Uint8Array | readonly RiValue[] | { readonly [key: string]: RiValue | undefined };

/** Why a value has no representation-independent hash (a negative or fractional number, a boolean, null). */
export interface RiError {
  readonly error: string;
}


/** Unsigned LEB128. */
export const leb128 = (n: bigint): Uint8Array => {
  const out: number[] = [];
  let x = n;
  do {
    const b = Number(x & 0x7fn);
    x >>= 7n;
    out.push(x === 0n ? b : b | 0x80);
  } while (x !== 0n);
  return Uint8Array.from(out);
};

/**
 * [HTTP-REQUEST-ID.1] the hash of a value: SHA-256 of a text's UTF-8 bytes, of a natural's
 * unsigned LEB128, of a blob's bytes; of the concatenated hashes of an array's elements; and of a
 * map, the hash of its sorted (hash of key ‖ hash of value) pairs, fields without a value left out.
 */
export const hashOfValue = (v: unknown): Uint8Array | RiError => {
  if (typeof v === 'string') return sha256(utf8(v));
  if (typeof v === 'bigint') return v < 0n ? { error: `a negative number (${v}) has no representation-independent hash` } : sha256(leb128(v));
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? sha256(leb128(BigInt(v))) : { error: `the number ${v} has no representation-independent hash` };
  if (v instanceof Uint8Array) return sha256(v);
  if (Array.isArray(v)) {
    const parts: Uint8Array[] = [];
    for (const x of v) {
      const h = hashOfValue(x);
      if (!(h instanceof Uint8Array)) return h;
      parts.push(h);
    }
    return sha256(...parts);
  }
  if (v !== null && typeof v === 'object') return hashOfMap(v as Record<string, unknown>);
  return { error: `a ${v === null ? 'null' : typeof v} has no representation-independent hash` };
};

/** [HTTP-REQUEST-ID.1] the hash of a map. */
export const hashOfMap = (m: Readonly<Record<string, unknown>>): Uint8Array | RiError => {
  const pairs: Uint8Array[] = [];
  for (const [k, x] of Object.entries(m)) {
    if (x === undefined) continue;
    const h = hashOfValue(x);
    if (!(h instanceof Uint8Array)) return { error: `${k}: ${h.error}` };
    pairs.push(concatBytes(sha256(utf8(k)), h));
  }
  pairs.sort(compareBytes);
  return sha256(...pairs);
};

/** [HTTP-REQUEST-ID.1] a request's id: the hash of its content map. */
export const requestId = (content: Readonly<Record<string, unknown>>): Uint8Array | RiError => hashOfMap(content);

/** Domain separators: a length byte and the text ([HTTP-REQUEST-ID.1]). */
export const domainSeparator = (text: string): Uint8Array => concatBytes(Uint8Array.of(text.length), utf8(text));
