/** ICRC-1 accounts and the ICP ledger's 32-byte account identifier (spec/ledger.md §Accounts). */
import { sha224 } from '@noble/hashes/sha2.js';
import { type Bytes, fromHex, toHex } from '../core/bytes.js';
import { crc32be, type Principal } from '../core/principal.js';

export interface Account {
  readonly owner: Principal;
  /** undefined = the default subaccount (32 zero bytes) [LED-ACCOUNT-DEFAULT.1] */
  readonly subaccount?: Bytes;
}

/** Hex of a 32-byte account identifier: the key of balances and of blocks. */
export type AccountIdHex = string;

const DOMAIN = new Uint8Array([0x0a, ...new TextEncoder().encode('account-id')]);
const ZERO32 = new Uint8Array(32);

/** [LED-ACCOUNT-ID.1] CRC32_BE(h) ‖ h, h = SHA-224(0x0A ‖ "account-id" ‖ owner ‖ subaccount32). */
export const accountIdBytes = (owner: Principal, subaccount?: Bytes): Bytes => {
  const sub = subaccount ?? ZERO32; // [LED-ACCOUNT-DEFAULT.1]
  const input = new Uint8Array(DOMAIN.length + owner.bytes.length + 32);
  input.set(DOMAIN, 0);
  input.set(owner.bytes, DOMAIN.length);
  input.set(sub, DOMAIN.length + owner.bytes.length);
  const h = sha224(input);
  const out = new Uint8Array(32);
  out.set(crc32be(h), 0);
  out.set(h, 4);
  return out;
};

export const accountId = (a: Account): AccountIdHex => toHex(accountIdBytes(a.owner, a.subaccount));

export type AccountIdCheck = { ok: true; id: AccountIdHex } | { ok: false; reason: 'length' | 'checksum'; expected?: string; found?: string };

/** [LED-ACCOUNT-ID-CHECK.1] a 32-byte identifier is valid iff its first 4 bytes are the CRC32 of the other 28. */
export const checkAccountId = (b: Bytes): AccountIdCheck => {
  if (b.length !== 32) return { ok: false, reason: 'length' };
  const crc = crc32be(b.subarray(4));
  for (let i = 0; i < 4; i++)
    if (crc[i] !== b[i]) return { ok: false, reason: 'checksum', expected: toHex(crc), found: toHex(b.subarray(0, 4)) };
  return { ok: true, id: toHex(b) };
};

export const parseAccountIdHex = (s: string): AccountIdCheck => {
  const b = fromHex(s);
  return b === undefined ? { ok: false, reason: 'length' } : checkAccountId(b);
};
