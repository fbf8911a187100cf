/** Arbitraries for ledger walks: actions over a small universe of accounts, as ITF arguments. */
import fc from 'fast-check';
import { NONE, some, UNIT, type ItfValue } from '../src/trace/itf.js';
import { acct, ALICE, ANON, BOB, CAROL, ID, MINTER } from '../scripts/ledger-scenarios.js';
import type { RecordedAction } from '../src/trace/replay.js';

export const FEE = 10_000n;
export const WINDOW = 1_000n;
export const DRIFT = 100n;
export const T0 = 1_000_000n;
export const U64 = (1n << 64n) - 1n;

const owners = [ALICE.text, ALICE.text, ALICE.text, BOB.text, BOB.text, CAROL.text, MINTER.text, ANON];
const SUB1 = '01'.padStart(64, '0');
const subs: Array<string | undefined> = [undefined, SUB1, '00'.repeat(32)];
const ids = [ID.alice, ID.alice1, ID.bob, ID.carol, ID.minter, `${ID.bob.slice(0, 62)}00`, ID.bob.slice(0, 60)];

export const initArgs = (values: Array<[string, bigint]>): ItfValue => ({
  minting_account: acct(MINTER.text),
  transfer_fee: some(FEE),
  transaction_window: some(WINDOW),
  permitted_drift: some(DRIFT),
  initial_values: some(values.map(([a, v]) => ({ '#tup': [a, v] }))),
  time: some(T0),
});

export const arbInit = fc
  .subarray([ID.alice, ID.alice1, ID.bob, ID.carol], { minLength: 1 })
  .chain((accs) => fc.tuple(...accs.map((a) => fc.tuple(fc.constant(a), fc.bigInt({ min: 0n, max: 2_000_000n })))))
  .map((vals) => initArgs(vals.map(([a, v]) => [a, v] as [string, bigint])));

const arbAmount = fc.oneof(
  { weight: 6, arbitrary: fc.bigInt({ min: 0n, max: 60_000n }) },
  { weight: 3, arbitrary: fc.constantFrom(0n, 1n, FEE - 1n, FEE, FEE + 1n) },
  { weight: 1, arbitrary: fc.constantFrom(U64 - 1n, U64, U64 + 1n) },
);
const arbOpt = <T extends ItfValue>(a: fc.Arbitrary<T>, noneWeight = 1): fc.Arbitrary<ItfValue> =>
  fc.oneof({ weight: noneWeight, arbitrary: fc.constant(NONE) }, { weight: 1, arbitrary: a.map((x) => some(x)) });
const arbFee = arbOpt(fc.constantFrom(0n, FEE, FEE, FEE, FEE - 1n, FEE + 1n), 2);
const arbMemo = arbOpt(fc.constantFrom('', 'ab', '11'.repeat(32), '22'.repeat(33)), 2);
const arbSub = fc.constantFrom(...subs).map((s) => (s === undefined ? NONE : some(s)));
/** created_at_time relative to the step's now */
const arbCatDelta = fc.option(fc.constantFrom(-WINDOW - 1n, -WINDOW, -5n, 0n, 0n, 0n, DRIFT, DRIFT + 1n), { nil: undefined, freq: 3 });

/** A walk step: a fresh action, or a repeat of an earlier one (to hit deduplication). */
export type WalkStep =
  | { kind: 'icrc'; caller: string; sub: ItfValue; to: ItfValue; amount: bigint; fee: ItfValue; memo: ItfValue; cat: bigint | undefined; dt: bigint }
  | { kind: 'legacy'; caller: string; sub: ItfValue; to: string; amount: bigint; fee: bigint; memo: bigint; cat: bigint | undefined; dt: bigint }
  | { kind: 'balance'; account: ItfValue }
  | { kind: 'accountBalance'; account: string }
  | { kind: 'supply' }
  | { kind: 'repeat'; back: number; dt: bigint };

const arbDt = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(0n, 1n, 10n) }, { weight: 1, arbitrary: fc.constantFrom(WINDOW, WINDOW + DRIFT + 1n, -1n) });
const arbAccount = fc.tuple(fc.constantFrom(...owners), arbSub).map(([o, s]) => ({ owner: o, subaccount: s }) as ItfValue);

export const arbStep: fc.Arbitrary<WalkStep> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({ kind: fc.constant('icrc' as const), caller: fc.constantFrom(...owners), sub: arbSub, to: arbAccount, amount: arbAmount, fee: arbFee, memo: arbMemo, cat: arbCatDelta, dt: arbDt }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('legacy' as const),
      caller: fc.constantFrom(...owners),
      sub: arbSub,
      to: fc.constantFrom(...ids),
      amount: arbAmount.map((a) => (a > U64 ? U64 : a)),
      fee: fc.constantFrom(0n, FEE, FEE, FEE, FEE, FEE + 1n),
      memo: fc.constantFrom(0n, 1n, U64),
      cat: arbCatDelta,
      dt: arbDt,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('balance' as const), account: arbAccount }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('accountBalance' as const), account: fc.constantFrom(...ids) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'supply' as const }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('repeat' as const), back: fc.nat({ max: 3 }), dt: arbDt }) },
);

/**
 * Turn walk steps into concrete actions (ITF arguments), given the clock. `now` never goes
 * below T0; a negative dt produces a step with now = clock − 1 (not enabled when clock > T0).
 */
export const concretize = (steps: readonly WalkStep[]): RecordedAction[] => {
  let clock = T0;
  const out: RecordedAction[] = [];
  const transfers: RecordedAction[] = [];
  for (const s of steps) {
    if (s.kind === 'balance') out.push({ tag: 'BalanceOf', args: { account: s.account } });
    else if (s.kind === 'accountBalance') out.push({ tag: 'AccountBalance', args: { account: s.account } });
    else if (s.kind === 'supply') out.push({ tag: 'TotalSupply', args: UNIT });
    else {
      const now = s.dt < 0n ? (clock > T0 ? clock - 1n : clock) : clock + s.dt;
      if (s.dt >= 0n) clock = now;
      if (s.kind === 'repeat') {
        const prev = transfers[transfers.length - 1 - (s.back % Math.max(1, transfers.length))];
        if (!prev) continue;
        const a = { ...(prev.args as Record<string, ItfValue>), now };
        const r = { tag: prev.tag, args: a };
        out.push(r);
        continue;
      }
      const cat = s.cat === undefined ? NONE : some(now + s.cat < 0n ? 0n : now + s.cat);
      const r: RecordedAction =
        s.kind === 'icrc'
          ? { tag: 'Icrc1Transfer', args: { caller: s.caller, from_subaccount: s.sub, to: s.to, amount: s.amount, fee: s.fee, memo: s.memo, created_at_time: cat, now } }
          : { tag: 'Transfer', args: { caller: s.caller, from_subaccount: s.sub, to: s.to, amount: s.amount, fee: s.fee, memo: s.memo, created_at_time: cat, now } };
      transfers.push(r);
      out.push(r);
    }
  }
  return out;
};
