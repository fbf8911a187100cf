/** ICRC-1 accounts and the ICP ledger's 32-byte account identifier (spec/ledger.md §Accounts). */
import CRC32 from 'crc-32';
import { type Bytes, fromHex, toHex } from '../core/bytes.js';
import { sha224Shared } from '../core/hash.js';
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
 * SHA-224 of DOMAIN ‖ owner ‖ subaccount: the hot path of every transfer, hashed without
 * allocating (src/core/hash.ts). The digest is in a shared buffer, copied out at once.
 */
const idHash = (owner: Bytes, sub: Bytes): Uint8Array => sha224Shared(DOMAIN, owner, sub);

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
