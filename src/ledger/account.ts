/** ICRC-1 accounts and the ICP ledger's 32-byte account identifier (spec/ledger.md §Accounts). */
import { sha224 } from '@noble/hashes/sha2.js';
import CRC32 from 'crc-32';
import { type Bytes, concatBytes, fromHex, toHex } from '../core/bytes.js';
import type { Principal } from '../core/principal.js';

export interface Account {
  readonly owner: Principal;
  /** undefined = the default subaccount (32 zero bytes) [LED-ACCOUNT-DEFAULT.1] */
  readonly subaccount?: Bytes;
}

/** Hex of a 32-byte account identifier: the key of balances and of blocks. */
export type AccountIdHex = string;

const DOMAIN = new Uint8Array([0x0a, ...new TextEncoder().encode('account-id')]);
const ZERO32 = new Uint8Array(32);

/**
 * SHA-224 of DOMAIN ‖ owner ‖ subaccount without per-call allocations: one @noble/hashes
 * hasher is reset from a pristine one (`_cloneInto`) and digested into its own buffer. This is
 * the hot path of every transfer; it is invisible to callers (a pure function of its input).
 * Falls back to the plain one-shot function if the hasher API is not there.
 *
 * The preimage is first copied into one long-lived buffer and hashed from views of it. Hashing
 * the caller's arrays directly would make the hasher take views of them (`subarray`, DataView),
 * and a view of a small, freshly decoded Uint8Array makes V8 move its bytes off the heap into a
 * new ArrayBuffer: measured, that was the largest single cost of a transfer at 1M accounts.
 */
type Hasher = ReturnType<typeof sha224.create> & { _cloneInto?: (to: unknown) => unknown; buffer?: Uint8Array };
const pristine = sha224.create() as Hasher;
const scratch = sha224.create() as Hasher;
const reusable = typeof pristine._cloneInto === 'function' && scratch.buffer instanceof Uint8Array;
/** The 28 digest bytes inside the scratch hasher's own buffer (a fixed view, made once). */
const digest28 = reusable ? scratch.buffer!.subarray(0, 28) : new Uint8Array(28);
/** The preimage of the common case (a principal of up to 29 bytes), and views of its prefixes. */
const preimage = new Uint8Array(DOMAIN.length + 29 + 32);
preimage.set(DOMAIN);
/**
 * For each preimage length n, views of preimage[0, n) cut so that no `update` call fills more than
 * the rest of the hasher's 64-byte block (63 bytes, then 1, then the next 63, …): the hasher then
 * only copies them into its buffer, where a whole block would make it allocate a DataView of the
 * input (and a partial one, a subarray) on every call.
 */
const chunks = Array.from({ length: preimage.length + 1 }, (_, n) => {
  const out: Uint8Array[] = [];
  for (let at = 0; at < n; ) {
    const end = Math.min(n, at % 64 === 0 ? at + 63 : at + 1);
    out.push(preimage.subarray(at, end));
    at = end;
  }
  return out;
});
const idHash = (owner: Bytes, sub: Bytes): Uint8Array => {
  const n = DOMAIN.length + owner.length + sub.length;
  let input: readonly Uint8Array[];
  if (n <= preimage.length) {
    preimage.set(owner, DOMAIN.length);
    preimage.set(sub, DOMAIN.length + owner.length);
    input = chunks[n]!;
  } else input = [concatBytes(DOMAIN, owner, sub)];
  if (reusable) {
    pristine._cloneInto!(scratch);
    for (const c of input) scratch.update(c);
    scratch.digestInto(scratch.buffer!);
  } else digest28.set(sha224(concatBytes(...input)));
  return digest28;
};

/** CRC32_BE(h) ‖ h into `out` (32 bytes). */
const fillAccountId = <T extends Uint8Array>(owner: Principal, subaccount: Bytes | undefined, out: T): T => {
  const h = idHash(owner.bytes, subaccount ?? ZERO32); // [LED-ACCOUNT-DEFAULT.1]
  out.set(h, 4);
  const c = CRC32.buf(h) >>> 0;
  out[0] = c >>> 24;
  out[1] = (c >>> 16) & 0xff;
  out[2] = (c >>> 8) & 0xff;
  out[3] = c & 0xff;
  return out;
};

/** [LED-ACCOUNT-ID.1] CRC32_BE(h) ‖ h, h = SHA-224(0x0A ‖ "account-id" ‖ owner ‖ subaccount32). */
export const accountIdBytes = (owner: Principal, subaccount?: Bytes): Bytes => fillAccountId(owner, subaccount, new Uint8Array(32));

/** One Buffer for every identifier: its hex is then the only allocation. */
const out32 = Buffer.alloc(32);
/** The account identifier as hex (the key of balances), without allocating the bytes. */
export const accountIdHex = (owner: Principal, subaccount?: Bytes): AccountIdHex => fillAccountId(owner, subaccount, out32).toString('hex');

export const accountId = (a: Account): AccountIdHex => accountIdHex(a.owner, a.subaccount);

export type AccountIdCheck = { ok: true; id: AccountIdHex } | { ok: false; reason: 'length' | 'checksum'; expected?: string; found?: string };

const tail28 = new Uint8Array(28);
/** [LED-ACCOUNT-ID-CHECK.1] a 32-byte identifier is valid iff its first 4 bytes are the CRC32 of the other 28. */
export const checkAccountId = (b: Bytes): AccountIdCheck => {
  if (b.length !== 32) return { ok: false, reason: 'length' };
  for (let i = 0; i < 28; i++) tail28[i] = b[i + 4]!; // no view of `b` (see idHash)
  const c = CRC32.buf(tail28) >>> 0;
  const found = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  if (c !== found) return { ok: false, reason: 'checksum', expected: c.toString(16).padStart(8, '0'), found: found.toString(16).padStart(8, '0') };
  return { ok: true, id: toHex(b) };
};

export const parseAccountIdHex = (s: string): AccountIdCheck => {
  const b = fromHex(s);
  return b === undefined ? { ok: false, reason: 'length' } : checkAccountId(b);
};
