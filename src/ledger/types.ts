/** ICP ledger state and transaction types (spec/ledger.md). */
import type { Account, AccountIdHex } from './account.js';
import type { PMap } from '../core/pmap.js';
import type { PVec } from '../core/pvec.js';

export type Operation =
  | { readonly kind: 'Mint'; readonly to: AccountIdHex; readonly amount: bigint }
  | { readonly kind: 'Burn'; readonly from: AccountIdHex; readonly amount: bigint }
  | { readonly kind: 'Transfer'; readonly from: AccountIdHex; readonly to: AccountIdHex; readonly amount: bigint; readonly fee: bigint };

export interface Transaction {
  readonly operation: Operation;
  /** legacy u64 memo (0 for ICRC-1 transfers) */
  readonly memo: bigint;
  /** ICRC-1 memo bytes as hex; undefined = absent (distinct from the empty memo "") */
  readonly icrc1Memo: string | undefined;
  readonly createdAtTime: bigint | undefined;
}

/** A block. Its hash is derived (spec [LED-BLOCK-HASH.1]) and memoized in `hashMemo`. */
export interface Block {
  readonly tx: Transaction;
  readonly timestamp: bigint;
  /** Internal memo of SHA-256(encoding); written at most once, never observable. */
  hashMemo?: Uint8Array;
}

export interface LedgerConfig {
  readonly mintingAccount: Account;
  readonly mintingId: AccountIdHex;
  readonly transferFee: bigint;
  readonly transactionWindow: bigint;
  readonly permittedDrift: bigint;
  /** transactionWindow + permittedDrift: a block older than this leaves the dedup index */
  readonly purgeAge: bigint;
}

export interface LedgerState {
  readonly cfg: LedgerConfig;
  /** the ledger's time: the `now` of the last accepted call (ns since the epoch) */
  readonly time: bigint;
  /** non-zero balances by account identifier [LED-BALANCE-ZERO.1] */
  readonly balances: PMap<AccountIdHex, bigint>;
  readonly totalSupply: bigint;
  readonly blocks: PVec<Block>;
  /** dedup index: 31-bit transaction digest → block index, or indices on a digest collision */
  readonly dedup: PMap<number, number | readonly number[]>;
  /** index of the first block whose dedup entry may not have been purged yet */
  readonly purgeFrom: number;
}
