/**
 * The ICP ledger as a native canister of the execution machine ([EXE-NATIVE-LEDGER.1]): the
 * ledger machine's rules behind the ICP ledger's real Candid interface (ICRC-1 and the legacy
 * `transfer` / `account_balance`), encoded and decoded by `@dfinity/candid`. A Wasm canister
 * calls it like any other canister and gets the ledger's exact answer.
 */
import { IDL } from '@dfinity/candid';
import * as E from 'fp-ts/lib/Either.js';
import { canisterId, type Principal } from '../core/principal.js';
import { accountId as accountIdOf, type Account } from '../ledger/account.js';
import * as L from '../ledger/rules.js';
import type { LedgerState } from '../ledger/types.js';
import { fromDfinity, toDfinity } from './candid.js';
import { methodNotFound, trapError, type UserError } from './errors.js';

/** `ryjl3-tyaaa-aaaaa-aaaba-cai`, the ICP ledger's id on the NNS subnet. */
export const ICP_LEDGER_ID: Principal = canisterId(2n);

const Account = IDL.Record({ owner: IDL.Principal, subaccount: IDL.Opt(IDL.Vec(IDL.Nat8)) });
const TransferArg = IDL.Record({
  from_subaccount: IDL.Opt(IDL.Vec(IDL.Nat8)),
  to: Account,
  amount: IDL.Nat,
  fee: IDL.Opt(IDL.Nat),
  memo: IDL.Opt(IDL.Vec(IDL.Nat8)),
  created_at_time: IDL.Opt(IDL.Nat64),
});
const TransferError = IDL.Variant({
  BadFee: IDL.Record({ expected_fee: IDL.Nat }),
  BadBurn: IDL.Record({ min_burn_amount: IDL.Nat }),
  InsufficientFunds: IDL.Record({ balance: IDL.Nat }),
  TooOld: IDL.Null,
  CreatedInFuture: IDL.Record({ ledger_time: IDL.Nat64 }),
  Duplicate: IDL.Record({ duplicate_of: IDL.Nat }),
  TemporarilyUnavailable: IDL.Null,
  GenericError: IDL.Record({ error_code: IDL.Nat, message: IDL.Text }),
});
const Tokens = IDL.Record({ e8s: IDL.Nat64 });
const LegacyTransferArgs = IDL.Record({
  memo: IDL.Nat64,
  amount: Tokens,
  fee: Tokens,
  from_subaccount: IDL.Opt(IDL.Vec(IDL.Nat8)),
  to: IDL.Vec(IDL.Nat8),
  created_at_time: IDL.Opt(IDL.Record({ timestamp_nanos: IDL.Nat64 })),
});
const LegacyTransferError = IDL.Variant({
  BadFee: IDL.Record({ expected_fee: Tokens }),
  InsufficientFunds: IDL.Record({ balance: Tokens }),
  TxTooOld: IDL.Record({ allowed_window_nanos: IDL.Nat64 }),
  TxCreatedInFuture: IDL.Null,
  TxDuplicate: IDL.Record({ duplicate_of: IDL.Nat64 }),
});
const Value = IDL.Variant({ Nat: IDL.Nat, Int: IDL.Int, Text: IDL.Text, Blob: IDL.Vec(IDL.Nat8) });

interface Method {
  readonly query: boolean;
  readonly arg: IDL.Type[];
  readonly ret: IDL.Type[];
  readonly run: (s: LedgerState, caller: Principal, args: unknown[], now: bigint) => { state: LedgerState; ret: unknown[] } | { trap: string };
}

const account = (v: { owner: Parameters<typeof fromDfinity>[0]; subaccount: Uint8Array[] }): Account => ({
  owner: fromDfinity(v.owner),
  ...(v.subaccount.length === 1 ? { subaccount: new Uint8Array(v.subaccount[0]!) } : {}),
});
const opt = <T>(v: T[]): T | undefined => (v.length === 1 ? v[0] : undefined);

/** A ledger error value as its Candid variant. */
const variant = (e: { readonly tag: string } & Record<string, unknown>, tokens = false): Record<string, unknown> => {
  const { tag, ...rest } = e;
  const fields = Object.keys(rest);
  if (fields.length === 0) return { [tag]: null };
  return { [tag]: Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, tokens && (k === 'expected_fee' || k === 'balance') ? { e8s: v } : v])) };
};

const METHODS: Readonly<Record<string, Method>> = {
  icrc1_transfer: {
    query: false,
    arg: [TransferArg],
    ret: [IDL.Variant({ Ok: IDL.Nat, Err: TransferError })],
    run: (s, caller, [a], now) => {
      const x = a as { from_subaccount: Uint8Array[]; to: Parameters<typeof account>[0]; amount: bigint; fee: bigint[]; memo: Uint8Array[]; created_at_time: bigint[] };
      const r = L.icrc1Transfer(s, {
        caller,
        from_subaccount: opt(x.from_subaccount),
        to: account(x.to),
        amount: x.amount,
        fee: opt(x.fee),
        memo: opt(x.memo),
        created_at_time: opt(x.created_at_time),
        now,
      });
      if (E.isRight(r)) return { state: r.right.state, ret: [{ Ok: r.right.output }] };
      const f = r.left;
      if (f.kind === 'NotEnabled') return { trap: f.reason };
      if (f.error.tag === 'Trap') return { trap: f.error.message };
      return { state: s, ret: [{ Err: variant(f.error as never) }] };
    },
  },
  transfer: {
    query: false,
    arg: [LegacyTransferArgs],
    ret: [IDL.Variant({ Ok: IDL.Nat64, Err: LegacyTransferError })],
    run: (s, caller, [a], now) => {
      const x = a as { memo: bigint; amount: { e8s: bigint }; fee: { e8s: bigint }; from_subaccount: Uint8Array[]; to: Uint8Array; created_at_time: { timestamp_nanos: bigint }[] };
      const r = L.legacyTransfer(s, {
        caller,
        from_subaccount: opt(x.from_subaccount),
        to: new Uint8Array(x.to),
        amount: x.amount.e8s,
        fee: x.fee.e8s,
        memo: x.memo,
        created_at_time: opt(x.created_at_time)?.timestamp_nanos,
        now,
      });
      if (E.isRight(r)) return { state: r.right.state, ret: [{ Ok: r.right.output }] };
      const f = r.left;
      if (f.kind === 'NotEnabled') return { trap: f.reason };
      if (f.error.tag === 'Trap') return { trap: f.error.message };
      return { state: s, ret: [{ Err: variant(f.error as never, true) }] };
    },
  },
  icrc1_balance_of: { query: true, arg: [Account], ret: [IDL.Nat], run: (s, _c, [a]) => ({ state: s, ret: [L.balanceOf(s, accountIdOf(account(a as never)))] }) },
  account_balance: {
    query: true,
    arg: [IDL.Record({ account: IDL.Vec(IDL.Nat8) })],
    ret: [Tokens],
    run: (s, _c, [a]) => {
      const r = L.accountBalance(s, { account: new Uint8Array((a as { account: Uint8Array }).account) });
      if (E.isRight(r)) return { state: s, ret: [{ e8s: r.right.output }] };
      return { trap: r.left.kind === 'Rejected' ? r.left.error.message : r.left.reason };
    },
  },
  icrc1_total_supply: { query: true, arg: [], ret: [IDL.Nat], run: (s) => ({ state: s, ret: [s.totalSupply] }) },
  icrc1_fee: { query: true, arg: [], ret: [IDL.Nat], run: (s) => ({ state: s, ret: [s.cfg.transferFee] }) },
  icrc1_decimals: { query: true, arg: [], ret: [IDL.Nat8], run: (s) => ({ state: s, ret: [8] }) },
  icrc1_name: { query: true, arg: [], ret: [IDL.Text], run: (s) => ({ state: s, ret: ['Internet Computer'] }) },
  icrc1_symbol: { query: true, arg: [], ret: [IDL.Text], run: (s) => ({ state: s, ret: ['ICP'] }) },
  icrc1_minting_account: {
    query: true,
    arg: [],
    ret: [IDL.Opt(Account)],
    run: (s) => ({ state: s, ret: [[{ owner: toDfinity(s.cfg.mintingAccount.owner), subaccount: s.cfg.mintingAccount.subaccount ? [s.cfg.mintingAccount.subaccount] : [] }]] }),
  },
  icrc1_supported_standards: {
    query: true,
    arg: [],
    ret: [IDL.Vec(IDL.Record({ name: IDL.Text, url: IDL.Text }))],
    run: (s) => ({ state: s, ret: [[{ name: 'ICRC-1', url: 'https://github.com/dfinity/ICRC-1/tree/main/standards/ICRC-1' }]] }),
  },
  icrc1_metadata: {
    query: true,
    arg: [],
    ret: [IDL.Vec(IDL.Tuple(IDL.Text, Value))],
    run: (s) => ({
      state: s,
      ret: [
        [
          ['icrc1:decimals', { Nat: 8n }],
          ['icrc1:name', { Text: 'Internet Computer' }],
          ['icrc1:symbol', { Text: 'ICP' }],
          ['icrc1:fee', { Nat: s.cfg.transferFee }],
        ],
      ],
    }),
  },
};


export type NativeAnswer =
  | { readonly kind: 'reply'; readonly state: LedgerState; readonly data: Uint8Array }
  | { readonly kind: 'error'; readonly error: UserError };

/** Execute a call on the ledger canister; `replicated` false for a query call. */
export const callLedger = (canister: string, s: LedgerState, caller: Principal, method: string, arg: Uint8Array, now: bigint, replicated: boolean): NativeAnswer => {
  const m = Object.prototype.hasOwnProperty.call(METHODS, method) ? METHODS[method] : undefined;
  if (m === undefined || (!replicated && !m.query)) return { kind: 'error', error: methodNotFound(canister, replicated ? 'update' : 'query', method) };
  let args: unknown[];
  try {
    args = IDL.decode(m.arg, arg);
  } catch (e) {
    return { kind: 'error', error: trapped(canister, `failed to decode call arguments: ${(e as Error).message}`) };
  }
  const r = m.run(s, caller, args, now);
  if ('trap' in r) return { kind: 'error', error: trapped(canister, r.trap) };
  return { kind: 'reply', state: replicated ? r.state : s, data: new Uint8Array(IDL.encode(m.ret, r.ret)) };
};

/** The ledger traps through `ic0.trap` (a Rust canister's panic). */
const trapped = (canister: string, message: string): UserError => trapError(canister, { kind: 'CalledTrap', message });

/** Genesis: the ledger canister with its init arguments ([EXE-NATIVE-LEDGER.1]). */
export const ledgerGenesis = (init: L.LedgerInit): E.Either<{ code: string; message: string }, LedgerState> => L.init(init);
