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
 */
type Hasher = ReturnType<typeof sha224.create> & { _cloneInto?: (to: unknown) => unknown; buffer?: Uint8Array };
const pristine = sha224.create() as Hasher;
const scratch = sha224.create() as Hasher;
const reusable = typeof pristine._cloneInto === 'function' && scratch.buffer instanceof Uint8Array;
/** The 28 digest bytes inside the scratch hasher's own buffer (a fixed view, made once). */
const digest28 = reusable ? scratch.buffer!.subarray(0, 28) : new Uint8Array(28);
const idHash = (owner: Bytes, sub: Bytes): Uint8Array => {
  if (reusable) {
    pristine._cloneInto!(scratch);
    scratch.update(DOMAIN).update(owner).update(sub);
    scratch.digestInto(scratch.buffer!);
  } else digest28.set(sha224(concatBytes(DOMAIN, owner, sub)));
  return digest28;
};

/** CRC32_BE(h) ‖ h into `out` (32 bytes). */
const fillAccountId = (owner: Principal, subaccount: Bytes | undefined, out: Uint8Array): Uint8Array => {
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

const out32 = new Uint8Array(32);
/** The account identifier as hex (the key of balances), without allocating the bytes. */
export const accountIdHex = (owner: Principal, subaccount?: Bytes): AccountIdHex => toHex(fillAccountId(owner, subaccount, out32));

export const accountId = (a: Account): AccountIdHex => accountIdHex(a.owner, a.subaccount);

export type AccountIdCheck = { ok: true; id: AccountIdHex } | { ok: false; reason: 'length' | 'checksum'; expected?: string; found?: string };

/** [LED-ACCOUNT-ID-CHECK.1] a 32-byte identifier is valid iff its first 4 bytes are the CRC32 of the other 28. */
export const checkAccountId = (b: Bytes): AccountIdCheck => {
  if (b.length !== 32) return { ok: false, reason: 'length' };
  const c = CRC32.buf(b.subarray(4)) >>> 0;
  const found = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  if (c !== found) return { ok: false, reason: 'checksum', expected: c.toString(16).padStart(8, '0'), found: found.toString(16).padStart(8, '0') };
  return { ok: true, id: toHex(b) };
};

export const parseAccountIdHex = (s: string): AccountIdCheck => {
  const b = fromHex(s);
  return b === undefined ? { ok: false, reason: 'length' } : checkAccountId(b);
};
