/** The ICP ledger as a machine: codecs of its action vocabulary, its view and invariants. */
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import { toHex } from '../core/bytes.js';
import type { ActionSpec, AnyActionSpec, Invariant, Machine } from '../core/machine.js';
import { U64_MAX } from '../core/num.js';
import { canisterId } from '../core/principal.js';
import { Blob, List, Nat, Opt, PrincipalText, Rec, Tup2, U64, Unit } from '../trace/codecs.js';
import { map, NONE, option, some, type ItfValue } from '../trace/itf.js';
import { accountId, checkAccountId, type Account } from './account.js';
import { blockHash, parentHash } from './encoding.js';
import * as R from './rules.js';
import type { Block, LedgerState, Operation } from './types.js';

// ---------------------------------------------------------------- codecs
export const AccountCodec: t.Type<Account, ItfValue, unknown> = (() => {
  const raw = Rec('Account', { owner: PrincipalText, subaccount: Opt(Blob(32)) });
  return new t.Type<Account, ItfValue, unknown>(
    'Account',
    (u): u is Account => raw.is(u),
    (u, c) => raw.validate(u, c),
    (a) => raw.encode({ owner: a.owner, subaccount: a.subaccount }),
  );
})();

const AccountIdHexCodec = new t.Type<string, ItfValue, unknown>(
  'AccountIdentifier',
  (u): u is string => typeof u === 'string',
  (u, c) => {
    const b = Blob(32).validate(u, c);
    if (E.isLeft(b)) return b;
    const chk = checkAccountId(b.right); // [LED-ACCOUNT-ID-CHECK.1]
    return chk.ok ? t.success(chk.id) : t.failure(u, c, `invalid account identifier: checksum ${chk.found} ≠ ${chk.expected}`);
  },
  (s) => s,
);

export const InitCodec = Rec('Init', {
  minting_account: AccountCodec,
  transfer_fee: Opt(U64),
  transaction_window: Opt(U64),
  permitted_drift: Opt(U64),
  initial_values: Opt(List(Tup2(AccountIdHexCodec, U64))),
  time: Opt(U64),
});
type InitArgs = t.TypeOf<typeof InitCodec>;

/** Init arguments with ICP defaults filled in. */
export const InitDecoder: t.Decoder<unknown, R.LedgerInit> = {
  name: 'Init',
  validate: (u, c) =>
    E.map((a: InitArgs): R.LedgerInit => ({
      minting_account: a.minting_account,
      transfer_fee: a.transfer_fee ?? R.DEFAULT_TRANSFER_FEE,
      transaction_window: a.transaction_window ?? R.DEFAULT_TRANSACTION_WINDOW,
      permitted_drift: a.permitted_drift ?? R.PERMITTED_DRIFT,
      initial_values: a.initial_values ?? [],
      time: a.time ?? 0n,
    }))(InitCodec.validate(u, c)),
  decode: (u) => InitDecoder.validate(u, [{ key: '', type: InitCodec, actual: u }]),
};

// The Icrc1TransferArgs value carries `caller` in place of the call's sender, and `now`.
/** The fields of an ICRC-1 transfer call (without the ledger's `now`). */
export const icrc1CallProps = {
  caller: PrincipalText,
  from_subaccount: Opt(Blob(32)),
  to: AccountCodec,
  amount: Nat,
  fee: Opt(Nat),
  memo: Opt(Blob()),
  created_at_time: Opt(U64),
};
const Icrc1TransferCodec = Rec('Icrc1Transfer', { ...icrc1CallProps, now: U64 });

/** The fields of a legacy transfer call (without the ledger's `now`). */
export const legacyCallProps = {
  caller: PrincipalText,
  from_subaccount: Opt(Blob(32)),
  to: Blob(),
  amount: U64,
  fee: U64,
  memo: U64,
  created_at_time: Opt(U64),
};
const LegacyTransferCodec = Rec('Transfer', { ...legacyCallProps, now: U64 });

// ---------------------------------------------------------------- encoders
/** An error `{tag, ...payload}` as the ITF variant `{tag, value: payload}` (unit when no payload). */
const encErr = <Er extends { readonly tag: string }>(e: Er): ItfValue => {
  const { tag, ...rest } = e as unknown as { tag: string } & Record<string, ItfValue>;
  return Object.keys(rest).length === 0 ? { tag, value: { '#tup': [] } } : { tag, value: rest };
};
const encNat = (n: bigint): ItfValue => n;

export const encodeOperation = (op: Operation): ItfValue => {
  switch (op.kind) {
    case 'Mint':
      return { tag: 'Mint', value: { to: op.to, amount: op.amount } };
    case 'Burn':
      return { tag: 'Burn', value: { from: op.from, amount: op.amount } };
    case 'Transfer':
      return { tag: 'Transfer', value: { from: op.from, to: op.to, amount: op.amount, fee: op.fee } };
  }
};

/** A block without its hashes (what a model without SHA-256 can state). */
export const encodeTx = (b: Block): ItfValue => ({
  operation: encodeOperation(b.tx.operation),
  memo: b.tx.memo,
  icrc1_memo: option(b.tx.icrc1Memo, (m) => m),
  created_at_time: option(b.tx.createdAtTime, (x) => x),
  timestamp: b.timestamp,
});

// ---------------------------------------------------------------- coverage of effects
/**
 * The effect requirements an accepted transfer exercised. A replay asks this once per step, so
 * the answer is one of a few shared arrays, chosen by the bits of what happened.
 */
const EFFECT_BITS: ReadonlyArray<readonly [number, readonly string[]]> = [
  [1, ['LED-TRANSFER-EFFECT.1', 'LED-FEE-BURN.1', 'LED-TRANSFER-FEE.1']],
  [2, ['LED-MINT.1']],
  [4, ['LED-BURN.1']],
  [8, ['LED-DEDUP.1']],
  [16, ['LED-BALANCE-ZERO.1']],
  [32, ['LED-DEDUP-PURGE.1']],
  [64, ['LED-MEMO.1']],
  [128, ['LED-LEGACY-TO.1', 'LED-ACCOUNT-ID-CHECK.1']],
  [256, ['LED-LEGACY-CREATED.1']],
];
const effectLists = new Map<number, readonly string[]>();
const effectList = (bits: number): readonly string[] => {
  let l = effectLists.get(bits);
  if (l === undefined) {
    l = ['LED-BLOCK-APPEND.1', 'LED-ACCOUNT-ID.1', ...EFFECT_BITS.flatMap(([bit, ids]) => ((bits & bit) !== 0 ? ids : []))];
    effectLists.set(bits, l);
  }
  return l;
};
const transferEffects = (before: LedgerState, after: LedgerState, extra: number): readonly string[] => {
  const tx = after.blocks.last()!.tx;
  const kind = tx.operation.kind;
  return effectList(
    extra |
      (kind === 'Transfer' ? 1 : kind === 'Mint' ? 2 : 4) |
      (tx.createdAtTime !== undefined ? 8 : 0) |
      (after.balances.size < before.balances.size ? 16 : 0) |
      (after.purgeFrom > before.purgeFrom ? 32 : 0),
  );
};

// ---------------------------------------------------------------- machine
const action = <A, O, Er>(spec: ActionSpec<LedgerState, A, O, Er>): AnyActionSpec<LedgerState> => spec as AnyActionSpec<LedgerState>;

const sumBalances = (s: LedgerState): bigint => {
  let sum = 0n;
  for (const [, v] of s.balances.entries()) sum += v;
  return sum;
};

export const invariants: readonly Invariant<LedgerState>[] = [
  {
    name: 'supply-equals-balances',
    req: 'LED-INV-SUPPLY.1',
    check: (s) => {
      const sum = sumBalances(s);
      return sum === s.totalSupply ? undefined : `sum of balances ${sum} ≠ total supply ${s.totalSupply}`;
    },
  },
  {
    name: 'balances-in-range',
    req: 'LED-INV-RANGE.1',
    check: (s) => {
      for (const [k, v] of s.balances.entries()) if (v <= 0n || v > U64_MAX) return `balance of ${k} is ${v}`;
      return s.totalSupply < 0n || s.totalSupply > U64_MAX ? `total supply ${s.totalSupply} out of u64` : undefined;
    },
  },
  {
    name: 'minting-account-empty',
    req: 'LED-INV-MINTING.1',
    check: (s) => (s.balances.has(s.cfg.mintingId) ? `minting account holds ${s.balances.get(s.cfg.mintingId)}` : undefined),
  },
  {
    name: 'timestamps-monotonic',
    req: 'LED-BLOCK-APPEND.1',
    check: (s) => {
      const n = s.blocks.length;
      if (n === 0) return undefined;
      const last = s.blocks.get(n - 1)!;
      if (last.timestamp !== s.time) return `last block timestamp ${last.timestamp} ≠ ledger time ${s.time}`;
      return n >= 2 && s.blocks.get(n - 2)!.timestamp > last.timestamp ? `block ${n - 1} is older than its parent` : undefined;
    },
  },
];

export const ledgerMachine: Machine<LedgerState, R.LedgerInit> = {
  name: 'ledger',
  initAction: 'Init',
  initArgs: InitDecoder,
  init: R.init,
  defaultConfig: {
    minting_account: { owner: canisterId(1n) }, // the governance canister, the ICP minting account's owner
    transfer_fee: R.DEFAULT_TRANSFER_FEE,
    transaction_window: R.DEFAULT_TRANSACTION_WINDOW,
    permitted_drift: R.PERMITTED_DRIFT,
    initial_values: [],
    time: 0n,
  },
  actions: {
    Icrc1Transfer: action({
      rule: R.icrc1Transfer,
      args: Icrc1TransferCodec,
      encodeOutput: encNat,
      encodeError: encErr,
      reqs: ['LED-ICRC1-TRANSFER.1'],
      rejectionReqs: ['LED-ICRC1-ERRORS.1', 'LED-REJECT-NOCHANGE.1'],
      effects: (b, a, _o) => transferEffects(b, a, a.blocks.last()!.tx.icrc1Memo !== undefined ? 64 : 0),
    }),
    Transfer: action({
      rule: R.legacyTransfer,
      args: LegacyTransferCodec,
      encodeOutput: encNat,
      encodeError: encErr,
      reqs: ['LED-LEGACY-TRANSFER.1'],
      rejectionReqs: ['LED-LEGACY-ERRORS.1', 'LED-REJECT-NOCHANGE.1'],
      effects: (b, a, _o, args) => transferEffects(b, a, 128 | (args.created_at_time === undefined ? 256 : 0)),
    }),
    BalanceOf: action({
      rule: R.icrc1BalanceOf,
      args: Rec('BalanceOf', { account: AccountCodec }),
      encodeOutput: encNat,
      encodeError: encErr,
      reqs: ['LED-QUERY-BALANCE.1', 'LED-ACCOUNT-ID.1', 'LED-ACCOUNT-DEFAULT.1'],
    }),
    AccountBalance: action({
      rule: R.accountBalance,
      args: Rec('AccountBalance', { account: Blob() }),
      encodeOutput: encNat,
      encodeError: encErr,
      reqs: ['LED-QUERY-ACCOUNT-BALANCE.1'],
      rejectionReqs: ['LED-REJECT-NOCHANGE.1'],
    }),
    TotalSupply: action({
      rule: R.icrc1TotalSupply,
      args: new t.Type<Record<string, never>, ItfValue, unknown>(
        'TotalSupply',
        (_u): _u is Record<string, never> => true,
        (u, c) => (E.isRight(Unit.validate(u, c)) ? t.success({}) : t.failure(u, c, 'TotalSupply takes no arguments (a unit value)')),
        () => ({ '#tup': [] }),
      ),
      encodeOutput: encNat,
      encodeError: encErr,
      reqs: ['LED-QUERY-SUPPLY.1'],
    }),
  },
  view: {
    balances: (s) => map(s.balances.entries()),
    total_supply: (s) => s.totalSupply,
    block_count: (s) => BigInt(s.blocks.length),
    time: (s) => s.time,
    last_tx: (s) => {
      const b = s.blocks.last();
      return b === undefined ? NONE : some(encodeTx(b));
    },
    tip_hash: (s) => {
      const h = blockHash(s.blocks, s.blocks.length - 1);
      return h === undefined ? '' : toHex(h);
    },
    last_block: (s) => {
      const n = s.blocks.length;
      if (n === 0) return NONE;
      const p = parentHash(s.blocks, n - 1);
      return some({
        index: BigInt(n - 1),
        parent_hash: option(p, toHex),
        hash: toHex(blockHash(s.blocks, n - 1)!),
        transaction: encodeTx(s.blocks.get(n - 1)!),
      });
    },
    minting_account: (s) => accountId(s.cfg.mintingAccount),
  },
  initReqs: ['LED-INIT.1'],
  viewReqs: {
    balances: ['LED-BALANCE-ZERO.1', 'LED-TRANSFER-EFFECT.1'],
    total_supply: ['LED-QUERY-SUPPLY.1'],
    tip_hash: ['LED-BLOCK-HASH.1', 'LED-BLOCK-ENCODING.1'],
    last_block: ['LED-BLOCK-HASH.1', 'LED-BLOCK-ENCODING.1', 'LED-BLOCK-APPEND.1'],
    last_tx: ['LED-BLOCK-APPEND.1'],
    minting_account: ['LED-ACCOUNT-ID.1'],
  },
  invariants,
};
