/**
 * Principals as in the IC interface spec (spec/principal.md).
 * A principal is a blob of 0..29 bytes; its textual form is
 * Group5(lower(Base32(CRC32_BE(b) ‖ b))) without padding.
 */
import { base32nopad } from '@scure/base';
import CRC32 from 'crc-32';
import { sha224 } from '@noble/hashes/sha2.js';
import { type Bytes, concatBytes, fromHex, toHex } from './bytes.js';

export type PrincipalClass = 'management' | 'opaque' | 'self-authenticating' | 'derived' | 'anonymous' | 'reserved';

export type PrincipalError =
  | { readonly kind: 'PrincipalTooLong'; readonly length: number }
  | { readonly kind: 'PrincipalTextMalformed'; readonly reason: string };

/** A principal, kept both as bytes and as canonical text (computed once). */
export interface Principal {
  readonly bytes: Bytes;
  readonly text: string;
}

export const PRINCIPAL_MAX_BYTES = 29;

/** Big-endian IEEE CRC-32 of the bytes. */
export const crc32be = (b: Bytes): Bytes => {
  const c = CRC32.buf(b) >>> 0;
  return new Uint8Array([c >>> 24, (c >>> 16) & 0xff, (c >>> 8) & 0xff, c & 0xff]);
};

const group5 = (s: string): string => s.replace(/(.{5})(?=.)/g, '$1-');

// [PRN-TEXT.1] textual encoding
const encodeText = (bytes: Bytes): string =>
  group5(base32nopad.encode(concatBytes(crc32be(bytes), bytes)).toLowerCase());

/** [PRN-BYTES.1] a principal is 0..29 bytes. */
export const principalFromBytes = (bytes: Bytes): Principal | PrincipalError =>
  bytes.length > PRINCIPAL_MAX_BYTES
    ? { kind: 'PrincipalTooLong', length: bytes.length }
    : { bytes: Uint8Array.from(bytes), text: encodeText(bytes) };

export const isPrincipalError = (x: Principal | PrincipalError): x is PrincipalError => 'kind' in x;

const malformed = (reason: string): PrincipalError => ({ kind: 'PrincipalTextMalformed', reason });

/**
 * [PRN-PARSE.1] Parse the textual form; reject anything that is not the canonical
 * encoding of some principal (bad characters, grouping, padding bits, checksum, length).
 * Parsing is case-insensitive, as in the spec; the canonical text is lowercase.
 */
export const principalFromText = (text: string): Principal | PrincipalError => {
  const lower = text.toLowerCase();
  if (!/^[a-z2-7-]*$/.test(lower)) return malformed('characters outside the base32 alphabet and "-"');
  const raw = lower.replace(/-/g, '');
  if (raw.length < 7) return malformed('too short for a 4-byte checksum');
  if (group5(raw) !== lower) return malformed('dashes are not every 5 characters');
  let decoded: Bytes;
  try {
    decoded = base32nopad.decode(raw.toUpperCase());
  } catch {
    return malformed('invalid base32 (length or non-zero padding bits)');
  }
  if (decoded.length < 4) return malformed('too short for a 4-byte checksum');
  const body = decoded.subarray(4);
  if (body.length > PRINCIPAL_MAX_BYTES) return { kind: 'PrincipalTooLong', length: body.length };
  const crc = crc32be(body);
  for (let i = 0; i < 4; i++) if (crc[i] !== decoded[i]) return malformed('checksum mismatch');
  const p = principalFromBytes(body);
  if (!isPrincipalError(p) && p.text !== lower) return malformed('not the canonical encoding');
  return p;
};

/** [PRN-CLASS.1] class of a principal, from its last byte. */
export const principalClass = (p: Principal): PrincipalClass => {
  const n = p.bytes.length;
  if (n === 0) return 'management';
  const last = p.bytes[n - 1];
  if (last === 0x04 && n === 1) return 'anonymous';
  if (last === 0x02 && n === 29) return 'self-authenticating';
  if (last === 0x03) return 'derived';
  if (last === 0x7f) return 'reserved';
  return 'opaque';
};

/** [PRN-SELF-AUTH.1] SHA-224(DER public key) ‖ 0x02. */
export const selfAuthenticating = (derPublicKey: Bytes): Principal =>
  principalFromBytes(concatBytes(sha224(derPublicKey), new Uint8Array([0x02]))) as Principal;

/** [PRN-CANISTER-ID.1] canister id n: u64 big-endian ‖ 0x01 ‖ 0x01. */
export const canisterId = (n: bigint): Principal => {
  const b = new Uint8Array(10);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, n));
  b[8] = 1;
  b[9] = 1;
  return principalFromBytes(b) as Principal;
};

export const ANONYMOUS: Principal = principalFromBytes(new Uint8Array([0x04])) as Principal;
export const MANAGEMENT_CANISTER: Principal = principalFromBytes(new Uint8Array()) as Principal;

/** Parse text, or hex bytes (optionally 0x-prefixed) when `allowHex`. */
export const parsePrincipal = (s: string, allowHex = false): Principal | PrincipalError => {
  if (allowHex) {
    const h = s.startsWith('0x') ? s.slice(2) : s;
    if (s.startsWith('0x') || (/^[0-9a-fA-F]*$/.test(h) && h.length % 2 === 0 && !s.includes('-') && h.length > 0)) {
      const b = fromHex(h);
      if (b !== undefined) return principalFromBytes(b);
    }
  }
  return principalFromText(s);
};

export const principalHex = (p: Principal): string => toHex(p.bytes);
