/**
 * ICP ledger rules (spec/ledger.md). Each guard and effect cites its requirement ID.
 * All rules are pure: they return a new state and never change their input.
 * [LED-REJECT-NOCHANGE.1] a rejected or not-enabled call returns Left, which carries no state.
 */
import * as E from 'fp-ts/lib/Either.js';
import { toHex, type Bytes } from '../core/bytes.js';
import { notEnabled, ok, reject, type InitError, type Result } from '../core/machine.js';
import { U64_MAX } from '../core/num.js';
import { HexU64Table } from '../core/hex-u64-table.js';
import { IntIndexTable } from '../core/int-index-table.js';
import { PMap } from '../core/pmap.js';
import { PVec } from '../core/pvec.js';
import { principalClass, type Principal } from '../core/principal.js';
import { accountId, accountIdHex, checkAccountId, type Account, type AccountIdHex } from './account.js';
import { txDigest, txEqual } from './encoding.js';
import type { Block, LedgerConfig, LedgerState, Operation, Transaction } from './types.js';

// ---------------------------------------------------------------- constants
export const DEFAULT_TRANSFER_FEE = 10_000n;
export const DEFAULT_TRANSACTION_WINDOW = 24n * 3600n * 1_000_000_000n;
export const PERMITTED_DRIFT = 60n * 1_000_000_000n;
export const MAX_MEMO_BYTES = 32;

// ---------------------------------------------------------------- errors
/** The canister trapped: the call is rejected with reject code CANISTER_ERROR (5). */
export interface Trap {
  readonly tag: 'Trap';
  /** stable name of the trap condition */
  readonly code: 'AnonymousCaller' | 'MemoTooLarge' | 'InvalidAccountId' | 'MintFeeNotZero' | 'BurnFeeNotZero' | 'BurnTooSmall' | 'MintToMintingAccount' | 'SupplyExceeded';
  readonly message: string;
}

/** ICRC-1 TransferError ([LED-ICRC1-ERRORS.1]) or a trap. */
export type Icrc1TransferError =
  | { readonly tag: 'BadFee'; readonly expected_fee: bigint }
  | { readonly tag: 'BadBurn'; readonly min_burn_amount: bigint }
  | { readonly tag: 'InsufficientFunds'; readonly balance: bigint }
  | { readonly tag: 'TooOld' }
  | { readonly tag: 'CreatedInFuture'; readonly ledger_time: bigint }
  | { readonly tag: 'Duplicate'; readonly duplicate_of: bigint }
  | { readonly tag: 'TemporarilyUnavailable' }
  | { readonly tag: 'GenericError'; readonly error_code: bigint; readonly message: string }
  | Trap;

/** The legacy ICP TransferError ([LED-LEGACY-ERRORS.1]) or a trap. */
export type LegacyTransferError =
  | { readonly tag: 'BadFee'; readonly expected_fee: bigint }
  | { readonly tag: 'InsufficientFunds'; readonly balance: bigint }
  | { readonly tag: 'TxTooOld'; readonly allowed_window_nanos: bigint }
  | { readonly tag: 'TxCreatedInFuture' }
  | { readonly tag: 'TxDuplicate'; readonly duplicate_of: bigint }
  | Trap;

const trap = (code: Trap['code'], message: string): Trap => ({ tag: 'Trap', code, message });

// ---------------------------------------------------------------- args
export interface LedgerInit {
  readonly minting_account: Account;
  readonly transfer_fee: bigint;
  readonly transaction_window: bigint;
  readonly permitted_drift: bigint;
  /** genesis balances, in the order their mint blocks are written */
  readonly initial_values: ReadonlyArray<readonly [AccountIdHex, bigint]>;
  readonly time: bigint;
}

export interface Icrc1TransferArgs {
  readonly caller: Principal;
  readonly from_subaccount: Bytes | undefined;
  readonly to: Account;
  readonly amount: bigint;
  readonly fee: bigint | undefined;
  readonly memo: Bytes | undefined;
  readonly created_at_time: bigint | undefined;
  /** the IC time at which the call executes */
  readonly now: bigint;
}

export interface LegacyTransferArgs {
  readonly caller: Principal;
  readonly from_subaccount: Bytes | undefined;
  /** the raw `to` blob (32 bytes expected) */
  readonly to: Bytes;
  readonly amount: bigint;
  readonly fee: bigint;
  readonly memo: bigint;
  readonly created_at_time: bigint | undefined;
  readonly now: bigint;
}

// ---------------------------------------------------------------- state API
/** The balances of a new state: a persistent map kept in a flat table (see HexU64Table). */
export const balancesFrom = (entries: Iterable<readonly [AccountIdHex, bigint]> = []): PMap<AccountIdHex, bigint> => PMap.from(entries, new HexU64Table());
/** The deduplication index of a new state: a persistent map kept in a flat table (see IntIndexTable). */
export const dedupFrom = (entries: Iterable<readonly [number, number | readonly number[]]> = []): LedgerState['dedup'] => PMap.from(entries, new IntIndexTable());

export const balanceOf = (s: LedgerState, id: AccountIdHex): bigint => s.balances.get(id) ?? 0n;

/** [LED-BALANCE-ZERO.1] zero balances are not stored. */
const setBalance = (b: PMap<AccountIdHex, bigint>, id: AccountIdHex, v: bigint): PMap<AccountIdHex, bigint> =>
  v === 0n ? b.delete(id) : b.set(id, v);

const findDuplicate = (s: LedgerState, tx: Transaction, digest: number): number | undefined => {
  const hit = s.dedup.get(digest);
  if (hit === undefined) return undefined;
  const candidates = typeof hit === 'number' ? [hit] : hit;
  for (const i of candidates) if (i >= s.purgeFrom && txEqual(s.blocks.get(i)!.tx, tx)) return i;
  return undefined;
};

const dedupAdd = (d: PMap<number, number | readonly number[]>, digest: number, index: number) => {
  const hit = d.get(digest);
  return d.set(digest, hit === undefined ? index : typeof hit === 'number' ? [hit, index] : [...hit, index]);
};

const dedupRemove = (d: PMap<number, number | readonly number[]>, digest: number, index: number) => {
  const hit = d.get(digest);
  if (hit === undefined) return d;
  if (typeof hit === 'number') return hit === index ? d.delete(digest) : d;
  const rest = hit.filter((i) => i !== index);
  return rest.length === 0 ? d.delete(digest) : d.set(digest, rest.length === 1 ? rest[0]! : rest);
};

/**
 * [LED-DEDUP-PURGE.1] forget the transactions of blocks with timestamp + window + drift < now.
 * Purging is unobservable except through memory: an entry that could be purged belongs to a
 * transaction that is TooOld for any `now` at which it would be purged.
 */
const purge = (s: LedgerState, now: bigint): Pick<LedgerState, 'dedup' | 'purgeFrom'> => {
  let dedup = s.dedup;
  let i = s.purgeFrom;
  const limit = now - s.cfg.purgeAge;
  while (i < s.blocks.length) {
    const b = s.blocks.get(i)!;
    if (b.timestamp >= limit) break;
    if (b.tx.createdAtTime !== undefined) dedup = dedupRemove(dedup, txDigest(b.tx), i);
    i++;
  }
  return { dedup, purgeFrom: i };
};

/**
 * Time checks and deduplication, shared by both transfer endpoints
 * ([LED-TX-TOO-OLD.1], [LED-TX-FUTURE.1], [LED-DEDUP.1]); only for transactions with created_at_time.
 */
type TimeCheck = { kind: 'ok'; digest: number | undefined } | { kind: 'tooOld' } | { kind: 'future' } | { kind: 'dup'; index: number };
const checkTime = (s: LedgerState, tx: Transaction, now: bigint): TimeCheck => {
  const t = tx.createdAtTime;
  if (t === undefined) return { kind: 'ok', digest: undefined };
  if (t + s.cfg.transactionWindow < now) return { kind: 'tooOld' }; // [LED-TX-TOO-OLD.1]
  if (t > now + s.cfg.permittedDrift) return { kind: 'future' }; // [LED-TX-FUTURE.1]
  const digest = txDigest(tx);
  const dup = findDuplicate(s, tx, digest); // [LED-DEDUP.1]
  return dup === undefined ? { kind: 'ok', digest } : { kind: 'dup', index: dup };
};

type ApplyError = { kind: 'funds'; balance: bigint } | { kind: 'supply' };

/** Balance effects of an operation ([LED-TRANSFER-EFFECT.1], [LED-MINT.1], [LED-BURN.1], [LED-FEE-BURN.1]). */
const applyOperation = (
  s: LedgerState,
  op: Operation,
): E.Either<ApplyError, { balances: PMap<AccountIdHex, bigint>; totalSupply: bigint }> => {
  switch (op.kind) {
    case 'Mint': {
      // [LED-SUPPLY-U64.1] the total supply never exceeds u64::MAX
      if (s.totalSupply + op.amount > U64_MAX) return E.left({ kind: 'supply' });
      return E.right({ balances: setBalance(s.balances, op.to, balanceOf(s, op.to) + op.amount), totalSupply: s.totalSupply + op.amount });
    }
    case 'Burn': {
      const bal = balanceOf(s, op.from);
      if (bal < op.amount) return E.left({ kind: 'funds', balance: bal }); // [LED-INSUFFICIENT.1]
      return E.right({ balances: setBalance(s.balances, op.from, bal - op.amount), totalSupply: s.totalSupply - op.amount });
    }
    case 'Transfer': {
      const bal = balanceOf(s, op.from);
      const debit = op.amount + op.fee;
      if (debit > U64_MAX || bal < debit) return E.left({ kind: 'funds', balance: bal }); // [LED-INSUFFICIENT.1]
      // [LED-TRANSFER-EFFECT.1] debit, then credit on the debited map (from == to is a transfer
      // of −fee); each read is on the newest version, so the persistent map only moves forward
      const b1 = setBalance(s.balances, op.from, bal - debit);
      const b2 = setBalance(b1, op.to, (b1.get(op.to) ?? 0n) + op.amount);
      return E.right({ balances: b2, totalSupply: s.totalSupply - op.fee }); // [LED-FEE-BURN.1]
    }
  }
};

/** [LED-BLOCK-APPEND.1] one block per accepted transaction, timestamp = now; index = previous length. */
const commit = (s: LedgerState, tx: Transaction, now: bigint, digest: number | undefined, eff: { balances: PMap<AccountIdHex, bigint>; totalSupply: bigint }): LedgerState => {
  const purged = purge(s, now);
  const index = s.blocks.length;
  const block: Block = { tx, timestamp: now, hashMemo: undefined };
  return {
    cfg: s.cfg,
    time: now,
    balances: eff.balances,
    totalSupply: eff.totalSupply,
    blocks: s.blocks.push(block),
    dedup: digest === undefined ? purged.dedup : dedupAdd(purged.dedup, digest, index), // [LED-DEDUP.1]
    purgeFrom: purged.purgeFrom,
  };
};

/**
 * The part both transfer endpoints share once the operation is classified: time checks and
 * deduplication, then funds, then the effects and the new block. Each endpoint names its errors.
 */
const execute = <Er>(
  s: LedgerState,
  tx: Transaction,
  now: bigint,
  errs: { tooOld: Er; future: Er; duplicate: (index: bigint) => Er },
): Result<LedgerState, bigint, Er | { readonly tag: 'InsufficientFunds'; readonly balance: bigint } | Trap> => {
  const tc = checkTime(s, tx, now);
  if (tc.kind === 'tooOld') return reject('LED-TX-TOO-OLD.1', errs.tooOld);
  if (tc.kind === 'future') return reject('LED-TX-FUTURE.1', errs.future);
  if (tc.kind === 'dup') return reject('LED-DEDUP.1', errs.duplicate(BigInt(tc.index)));
  const eff = applyOperation(s, tx.operation);
  if (E.isLeft(eff))
    return eff.left.kind === 'funds'
      ? reject('LED-INSUFFICIENT.1', { tag: 'InsufficientFunds', balance: eff.left.balance })
      : reject('LED-SUPPLY-U64.1', trap('SupplyExceeded', 'total token supply exceeded'));
  return ok(commit(s, tx, now, tc.digest, eff.right), BigInt(s.blocks.length));
};

// ---------------------------------------------------------------- init
/** [LED-INIT.1] */
export const init = (a: LedgerInit): E.Either<InitError, LedgerState> => {
  const mintingId = accountId(a.minting_account);
  const cfg: LedgerConfig = {
    mintingAccount: a.minting_account,
    mintingId,
    transferFee: a.transfer_fee,
    transactionWindow: a.transaction_window,
    permittedDrift: a.permitted_drift,
    purgeAge: a.transaction_window + a.permitted_drift,
  };
  let s: LedgerState = {
    cfg,
    time: a.time,
    balances: balancesFrom(),
    totalSupply: 0n,
    blocks: PVec.empty(),
    dedup: dedupFrom(),
    purgeFrom: 0,
  };
  const seen = new Set<string>();
  for (const [to, amount] of a.initial_values) {
    // [LED-INIT.1] the rejections of init, as data
    if (to === mintingId) return E.left({ code: 'InitMintsToMintingAccount', message: `initial_values must not credit the minting account ${to}` });
    if (seen.has(to)) return E.left({ code: 'InitDuplicateAccount', message: `initial_values lists account ${to} twice` });
    seen.add(to);
    // genesis mints: memo 0, created_at_time = block timestamp = init time
    const tx: Transaction = { operation: { kind: 'Mint', to, amount }, memo: 0n, icrc1Memo: undefined, createdAtTime: a.time };
    const eff = applyOperation(s, tx.operation);
    if (E.isLeft(eff)) return E.left({ code: 'InitSupplyExceeded', message: `initial_values exceed the u64 total supply at account ${to}` }); // [LED-INIT.1]
    s = commit(s, tx, a.time, txDigest(tx), eff.right);
  }
  return E.right(s);
};

// ---------------------------------------------------------------- icrc1_transfer
/** [LED-TIME.1] a call executes at a time no earlier than the ledger's last. */
const timeGuard = (s: LedgerState, now: bigint) =>
  now < s.time ? notEnabled('LED-TIME.1', `now ${now} is before the ledger time ${s.time}`) : undefined;

export const icrc1Transfer = (s: LedgerState, a: Icrc1TransferArgs): Result<LedgerState, bigint, Icrc1TransferError> => {
  const tg = timeGuard(s, a.now);
  if (tg) return tg;
  // [LED-ANON.1]
  if (principalClass(a.caller) === 'anonymous')
    return reject('LED-ANON.1', trap('AnonymousCaller', 'Anonymous principal cannot hold tokens on the ledger.'));
  const from = accountIdHex(a.caller, a.from_subaccount);
  const to = accountId(a.to);
  // [LED-MEMO.1]
  if (a.memo !== undefined && a.memo.length > MAX_MEMO_BYTES)
    return reject('LED-MEMO.1', trap('MemoTooLarge', 'the memo field is too large'));
  // [LED-AMOUNT-U64.1]
  if (a.amount > U64_MAX) return reject('LED-AMOUNT-U64.1', { tag: 'InsufficientFunds', balance: balanceOf(s, from) });
  const fee = s.cfg.transferFee;
  let op: Operation;
  if (to === s.cfg.mintingId) {
    // [LED-BURN.1] burn: detected first for ICRC-1; fee-less; at least min(fee, balance), and not 0
    if (a.fee !== undefined && a.fee !== 0n) return reject('LED-BURN.1', { tag: 'BadFee', expected_fee: 0n });
    const minBurn = fee < balanceOf(s, from) ? fee : balanceOf(s, from);
    if (a.amount < minBurn) return reject('LED-BURN.1', { tag: 'BadBurn', min_burn_amount: minBurn });
    if (a.amount === 0n) return reject('LED-BURN.1', { tag: 'BadBurn', min_burn_amount: fee });
    op = { kind: 'Burn', from, amount: a.amount };
  } else if (from === s.cfg.mintingId) {
    // [LED-MINT.1] mint: fee-less
    if (a.fee !== undefined && a.fee !== 0n) return reject('LED-MINT.1', { tag: 'BadFee', expected_fee: 0n });
    op = { kind: 'Mint', to, amount: a.amount };
  } else {
    // [LED-TRANSFER-FEE.1] the fee, when given, must equal the ledger's; the block records the ledger's fee
    if (a.fee !== undefined && a.fee !== fee) return reject('LED-TRANSFER-FEE.1', { tag: 'BadFee', expected_fee: fee });
    op = { kind: 'Transfer', from, to, amount: a.amount, fee };
  }
  const tx: Transaction = {
    operation: op,
    memo: 0n,
    icrc1Memo: a.memo === undefined ? undefined : toHex(a.memo),
    createdAtTime: a.created_at_time,
  };
  return execute<Icrc1TransferError>(s, tx, a.now, {
    tooOld: { tag: 'TooOld' },
    future: { tag: 'CreatedInFuture', ledger_time: a.now },
    duplicate: (i) => ({ tag: 'Duplicate', duplicate_of: i }),
  });
};

// ---------------------------------------------------------------- legacy transfer
const tokens = (e8s: bigint): string => {
  const whole = e8s / 100_000_000n;
  const frac = (e8s % 100_000_000n).toString().padStart(8, '0');
  return `${whole}.${frac} Token`;
};

export const legacyTransfer = (s: LedgerState, a: LegacyTransferArgs): Result<LedgerState, bigint, LegacyTransferError> => {
  const tg = timeGuard(s, a.now);
  if (tg) return tg;
  // [LED-LEGACY-TO.1] `to` must be a valid 32-byte account identifier
  const chk = checkAccountId(a.to);
  if (!chk.ok)
    return reject(
      'LED-LEGACY-TO.1',
      trap(
        'InvalidAccountId',
        chk.reason === 'length'
          ? `Invalid account identifier: expected 32 bytes, got ${a.to.length}`
          : `Invalid account identifier: Checksum failed for ${toHex(a.to)}, expected check bytes ${chk.expected} but found ${chk.found}`,
      ),
    );
  const to = chk.id;
  // [LED-ANON.1]
  if (principalClass(a.caller) === 'anonymous')
    return reject('LED-ANON.1', trap('AnonymousCaller', `Sending from ${a.caller.text} is not allowed`));
  const from = accountIdHex(a.caller, a.from_subaccount);
  const fee = s.cfg.transferFee;
  let op: Operation;
  if (from === s.cfg.mintingId) {
    // [LED-LEGACY-MINT.1] mint detected first for the legacy endpoint
    if (a.fee !== 0n) return reject('LED-LEGACY-MINT.1', trap('MintFeeNotZero', 'Fee for minting should be zero'));
    if (to === s.cfg.mintingId) return reject('LED-LEGACY-MINT.1', trap('MintToMintingAccount', 'It is illegal to mint to a minting_account'));
    op = { kind: 'Mint', to, amount: a.amount };
  } else if (to === s.cfg.mintingId) {
    // [LED-LEGACY-BURN.1]
    if (a.fee !== 0n) return reject('LED-LEGACY-BURN.1', trap('BurnFeeNotZero', 'Fee for burning should be zero'));
    if (a.amount < fee) return reject('LED-LEGACY-BURN.1', trap('BurnTooSmall', `Burns lower than ${tokens(fee)} are not allowed`));
    op = { kind: 'Burn', from, amount: a.amount };
  } else {
    // [LED-TRANSFER-FEE.1]
    if (a.fee !== fee) return reject('LED-TRANSFER-FEE.1', { tag: 'BadFee', expected_fee: fee });
    op = { kind: 'Transfer', from, to, amount: a.amount, fee };
  }
  // [LED-LEGACY-CREATED.1] a legacy transaction without created_at_time is created at `now` (and deduplicated)
  const tx: Transaction = { operation: op, memo: a.memo, icrc1Memo: undefined, createdAtTime: a.created_at_time ?? a.now };
  return execute<LegacyTransferError>(s, tx, a.now, {
    tooOld: { tag: 'TxTooOld', allowed_window_nanos: s.cfg.transactionWindow },
    future: { tag: 'TxCreatedInFuture' },
    duplicate: (i) => ({ tag: 'TxDuplicate', duplicate_of: i }),
  });
};

// ---------------------------------------------------------------- queries
/** [LED-QUERY-BALANCE.1] */
export const icrc1BalanceOf = (s: LedgerState, a: { readonly account: Account }): Result<LedgerState, bigint, never> =>
  ok(s, balanceOf(s, accountId(a.account)));

/** [LED-QUERY-ACCOUNT-BALANCE.1] a blob that is not 32 bytes reads as 0; a bad checksum traps. */
export const accountBalance = (s: LedgerState, a: { readonly account: Bytes }): Result<LedgerState, bigint, Trap> => {
  if (a.account.length !== 32) return ok(s, 0n);
  const chk = checkAccountId(a.account);
  if (!chk.ok)
    return reject(
      'LED-QUERY-ACCOUNT-BALANCE.1',
      trap('InvalidAccountId', `Invalid account identifier: Checksum failed for ${toHex(a.account)}, expected check bytes ${chk.expected} but found ${chk.found}`),
    );
  return ok(s, balanceOf(s, chk.id));
};

/** [LED-QUERY-SUPPLY.1] */
export const icrc1TotalSupply = (s: LedgerState, _a: Record<string, never>): Result<LedgerState, bigint, never> => ok(s, s.totalSupply);
