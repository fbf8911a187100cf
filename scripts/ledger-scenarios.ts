/**
 * Hand-written ledger scenarios: each step carries the outcome expected by reading
 * spec/ledger.md (not by running the reference). `npm run traces:scenarios` records them
 * into traces/ledger/scenarios/ and refuses to write when the reference disagrees with an
 * expectation; properties/ledger-scenarios.test.ts checks the same and that the committed
 * files are up to date.
 */
import { fromHex, toHex, utf8 } from '../src/core/bytes.js';
import { canisterId, crc32be, selfAuthenticating } from '../src/core/principal.js';
import { accountId } from '../src/ledger/account.js';
import { join } from 'node:path';
import { packageRoot } from '../src/core/root.js';
import { ledgerMachine } from '../src/ledger/machine.js';
import { diff, fromJson, NONE, render, some, UNIT, variant, type ItfValue } from '../src/trace/itf.js';
import { OUTCOME_VAR } from '../src/trace/load.js';
import { record } from '../src/trace/replay.js';

const pr = (s: string) => selfAuthenticating(utf8(`icspec-test-key-${s}`));
export const ALICE = pr('alice');
export const BOB = pr('bob');
export const CAROL = pr('carol');
export const MINTER = canisterId(1n); // governance: the ICP minting account's owner
export const ANON = '2vxsx-fae';
const SUB1 = '01'.padStart(64, '0');

export const acct = (owner: string, sub?: string): ItfValue => ({ owner, subaccount: sub === undefined ? NONE : some(sub) });
const id = (owner: { text: string; bytes: Uint8Array }, sub?: string) =>
  accountId({ owner: owner as never, subaccount: sub === undefined ? undefined : Uint8Array.from(Buffer.from(sub, 'hex')) });
export const ID = { alice: id(ALICE), alice1: id(ALICE, SUB1), bob: id(BOB), carol: id(CAROL), minter: id(MINTER) };

const T0 = 1_700_000_000_000_000_000n;
const BAD_BOB = `${ID.bob.slice(0, 63)}${ID.bob[63] === '0' ? '1' : '0'}`;
const SEC = 1_000_000_000n;
const WINDOW = 86_400n * SEC;

export interface ScenarioStep {
  readonly tag: string;
  readonly args: ItfValue;
  /** the expected outcome, written from the spec */
  readonly expect: ItfValue;
  readonly note?: string;
}
export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly requirements: readonly string[];
  readonly init: ItfValue;
  readonly steps: readonly ScenarioStep[];
}

const opt = (x: ItfValue | undefined): ItfValue => (x === undefined ? NONE : some(x));
interface IcrcOpts {
  sub?: string;
  fee?: bigint;
  memo?: string;
  cat?: bigint;
}
const icrc = (caller: string, to: ItfValue, amount: bigint, now: bigint, o: IcrcOpts = {}): Pick<ScenarioStep, 'tag' | 'args'> => ({
  tag: 'Icrc1Transfer',
  args: { caller, from_subaccount: opt(o.sub), to, amount, fee: opt(o.fee), memo: opt(o.memo), created_at_time: opt(o.cat), now },
});
const legacy = (caller: string, to: string, amount: bigint, fee: bigint, now: bigint, o: { memo?: bigint; cat?: bigint; sub?: string } = {}): Pick<ScenarioStep, 'tag' | 'args'> => ({
  tag: 'Transfer',
  args: { caller, from_subaccount: opt(o.sub), to, amount, fee, memo: o.memo ?? 0n, created_at_time: opt(o.cat), now },
});
const ok = (n: bigint): ItfValue => variant('Ok', n);
const err = (tag: string, value: ItfValue = UNIT): ItfValue => variant('Err', variant(tag, value));
const trap = (code: string, message: string): ItfValue => err('Trap', { code, message });

const init = (values: Array<[string, bigint]>, extra: Record<string, ItfValue> = {}): ItfValue => ({
  minting_account: acct(MINTER.text),
  transfer_fee: some(10_000n),
  transaction_window: some(WINDOW),
  permitted_drift: some(60n * SEC),
  initial_values: some(values.map(([a, v]) => ({ '#tup': [a, v] }))),
  time: some(T0),
  ...extra,
});

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'icrc1-transfers',
    description: 'ICRC-1 transfers: fee handling, zero and self transfers, insufficient funds, subaccounts, anonymous',
    requirements: ['LED-INIT.1', 'LED-ICRC1-TRANSFER.1', 'LED-TRANSFER-FEE.1', 'LED-TRANSFER-EFFECT.1', 'LED-FEE-BURN.1', 'LED-INSUFFICIENT.1', 'LED-BALANCE-ZERO.1', 'LED-ANON.1', 'LED-MEMO.1', 'LED-ACCOUNT-DEFAULT.1', 'LED-BLOCK-APPEND.1', 'LED-BLOCK-HASH.1', 'LED-ICRC1-ERRORS.1', 'LED-REJECT-NOCHANGE.1'],
    init: init([[ID.alice, 1_000_000n], [ID.bob, 50_000n]]),
    steps: [
      { ...icrc(ALICE.text, acct(BOB.text), 100_000n, T0 + SEC), expect: ok(2n), note: 'blocks 0 and 1 are the genesis mints' },
      { ...icrc(ALICE.text, acct(BOB.text), 1n, T0 + 2n * SEC, { fee: 10_000n }), expect: ok(3n), note: 'explicit fee equal to the ledger fee' },
      { ...icrc(ALICE.text, acct(BOB.text), 1n, T0 + 3n * SEC, { fee: 9_999n }), expect: err('BadFee', { expected_fee: 10_000n }) },
      { ...icrc(ALICE.text, acct(BOB.text), 1n, T0 + 3n * SEC, { fee: 0n }), expect: err('BadFee', { expected_fee: 10_000n }) },
      { ...icrc(BOB.text, acct(CAROL.text), 150_001n, T0 + 4n * SEC), expect: err('InsufficientFunds', { balance: 150_001n }), note: 'bob holds 150_001 and needs 160_001' },
      { ...icrc(BOB.text, acct(CAROL.text), 140_001n, T0 + 4n * SEC), expect: ok(4n), note: 'bob pays everything: his account disappears' },
      { ...icrc(BOB.text, acct(CAROL.text), 0n, T0 + 5n * SEC), expect: err('InsufficientFunds', { balance: 0n }) },
      { ...icrc(ALICE.text, acct(ALICE.text), 0n, T0 + 5n * SEC), expect: ok(5n), note: 'a zero self-transfer costs the fee' },
      { ...icrc(ALICE.text, acct(ALICE.text, SUB1), 50_000n, T0 + 6n * SEC, { memo: 'deadbeef' }), expect: ok(6n) },
      { ...icrc(ALICE.text, acct(ANON), 7n, T0 + 6n * SEC, { sub: SUB1 }), expect: ok(7n), note: 'from a subaccount to the anonymous principal' },
      { ...icrc(ANON, acct(ALICE.text), 1n, T0 + 7n * SEC), expect: trap('AnonymousCaller', 'Anonymous principal cannot hold tokens on the ledger.') },
      { ...icrc(ALICE.text, acct(BOB.text), 1n, T0 + 7n * SEC, { memo: '00'.repeat(33) }), expect: trap('MemoTooLarge', 'the memo field is too large') },
      { ...icrc(ALICE.text, acct(BOB.text), 1n, T0 + 7n * SEC, { memo: '00'.repeat(32) }), expect: ok(8n) },
      { ...icrc(ALICE.text, acct(BOB.text), 1n, T0 + 8n * SEC, { memo: '' }), expect: ok(9n), note: 'an empty memo is a memo' },
      { tag: 'BalanceOf', args: { account: acct(ALICE.text, '00'.repeat(32)) }, expect: ok(789_997n), note: 'zero subaccount = default account: 1_000_000 − 110_000 − 10_001 − 10_000 − 60_000 − 10_001 − 10_001' },
      { tag: 'BalanceOf', args: { account: acct(ALICE.text, SUB1) }, expect: ok(50_000n - 10_007n) },
      { tag: 'TotalSupply', args: UNIT, expect: ok(1_050_000n - 8n * 10_000n), note: 'eight fees burned' },
    ],
  },
  {
    name: 'mint-burn',
    description: 'Mint and burn through the minting account, on both endpoints',
    requirements: ['LED-MINT.1', 'LED-BURN.1', 'LED-LEGACY-MINT.1', 'LED-LEGACY-BURN.1', 'LED-INV-MINTING.1', 'LED-INV-SUPPLY.1', 'LED-SUPPLY-U64.1', 'LED-AMOUNT-U64.1', 'LED-QUERY-SUPPLY.1', 'LED-LEGACY-ERRORS.1'],
    init: init([[ID.alice, 5_000n]]),
    steps: [
      { ...icrc(MINTER.text, acct(BOB.text), 1_000_000n, T0 + 1n), expect: ok(1n) },
      { ...icrc(MINTER.text, acct(BOB.text), 0n, T0 + 1n), expect: ok(2n), note: 'a zero mint is allowed and stores nothing' },
      { ...icrc(MINTER.text, acct(BOB.text), 1n, T0 + 1n, { fee: 10_000n }), expect: err('BadFee', { expected_fee: 0n }) },
      { ...icrc(MINTER.text, acct(BOB.text), 1n, T0 + 1n, { fee: 0n }), expect: ok(3n) },
      { ...icrc(ALICE.text, acct(MINTER.text), 4_000n, T0 + 2n), expect: err('BadBurn', { min_burn_amount: 5_000n }), note: 'alice holds less than the fee: min burn = her balance' },
      { ...icrc(ALICE.text, acct(MINTER.text), 6_000n, T0 + 2n), expect: err('InsufficientFunds', { balance: 5_000n }) },
      { ...icrc(ALICE.text, acct(MINTER.text), 5_000n, T0 + 2n, { fee: 10_000n }), expect: err('BadFee', { expected_fee: 0n }) },
      { ...icrc(ALICE.text, acct(MINTER.text), 5_000n, T0 + 2n), expect: ok(4n), note: 'burn her whole balance' },
      { ...icrc(BOB.text, acct(MINTER.text), 0n, T0 + 3n), expect: err('BadBurn', { min_burn_amount: 10_000n }) },
      { ...icrc(BOB.text, acct(MINTER.text), 9_999n, T0 + 3n), expect: err('BadBurn', { min_burn_amount: 10_000n }) },
      { ...icrc(BOB.text, acct(MINTER.text), 10_000n, T0 + 3n), expect: ok(5n) },
      { ...icrc(MINTER.text, acct(MINTER.text), 0n, T0 + 3n), expect: err('BadBurn', { min_burn_amount: 10_000n }), note: 'minting → minting is a burn on ICRC-1' },
      { ...legacy(MINTER.text, ID.carol, 300n, 0n, T0 + 4n), expect: ok(6n) },
      { ...legacy(MINTER.text, ID.carol, 300n, 10_000n, T0 + 4n), expect: trap('MintFeeNotZero', 'Fee for minting should be zero') },
      { ...legacy(MINTER.text, ID.minter, 300n, 0n, T0 + 4n), expect: trap('MintToMintingAccount', 'It is illegal to mint to a minting_account') },
      { ...legacy(BOB.text, ID.minter, 9_999n, 0n, T0 + 5n), expect: trap('BurnTooSmall', 'Burns lower than 0.00010000 Token are not allowed') },
      { ...legacy(BOB.text, ID.minter, 10_000n, 1n, T0 + 5n), expect: trap('BurnFeeNotZero', 'Fee for burning should be zero') },
      { ...legacy(BOB.text, ID.minter, 10_000n, 0n, T0 + 5n), expect: ok(7n) },
      { tag: 'TotalSupply', args: UNIT, expect: ok(1_000_001n + 300n - 20_000n) },
      { ...icrc(MINTER.text, acct(BOB.text), (1n << 64n) - 1n - 980_301n + 1n, T0 + 6n), expect: trap('SupplyExceeded', 'total token supply exceeded') },
      { ...icrc(MINTER.text, acct(BOB.text), (1n << 64n) - 1n - 980_301n, T0 + 6n), expect: ok(8n), note: 'exactly u64::MAX in supply' },
      { ...icrc(BOB.text, acct(CAROL.text), 1n << 64n, T0 + 7n), expect: err('InsufficientFunds', { balance: (1n << 64n) - 1n - 300n }) },
    ],
  },
  {
    name: 'dedup-window',
    description: 'created_at_time: too old, in the future, duplicates, and the end of the window',
    requirements: ['LED-TX-TOO-OLD.1', 'LED-TX-FUTURE.1', 'LED-DEDUP.1', 'LED-DEDUP-PURGE.1', 'LED-TIME.1', 'LED-LEGACY-CREATED.1'],
    init: init([[ID.alice, 10_000_000n]]),
    steps: [
      { ...icrc(ALICE.text, acct(BOB.text), 100n, T0 + 10n * SEC, { cat: T0 }), expect: ok(1n) },
      { ...icrc(ALICE.text, acct(BOB.text), 100n, T0 + 11n * SEC, { cat: T0 }), expect: err('Duplicate', { duplicate_of: 1n }) },
      { ...icrc(ALICE.text, acct(BOB.text), 100n, T0 + 11n * SEC, { cat: T0, fee: 10_000n }), expect: err('Duplicate', { duplicate_of: 1n }), note: 'explicit fee = omitted fee' },
      { ...icrc(ALICE.text, acct(BOB.text), 100n, T0 + 11n * SEC, { cat: T0, memo: '' }), expect: ok(2n), note: 'an empty memo differs from no memo' },
      { ...icrc(ALICE.text, acct(BOB.text), 100n, T0 + 12n * SEC), expect: ok(3n), note: 'no created_at_time: never deduplicated' },
      { ...icrc(ALICE.text, acct(BOB.text), 100n, T0 + 12n * SEC), expect: ok(4n) },
      { ...icrc(ALICE.text, acct(BOB.text), 100n, T0 + 12n * SEC, { cat: T0 + 12n * SEC + 60n * SEC }), expect: ok(5n), note: 'exactly now + drift is accepted' },
      { ...icrc(ALICE.text, acct(BOB.text), 100n, T0 + 12n * SEC, { cat: T0 + 12n * SEC + 60n * SEC + 1n }), expect: err('CreatedInFuture', { ledger_time: T0 + 12n * SEC }) },
      { ...icrc(ALICE.text, acct(BOB.text), 100n, T0 + WINDOW, { cat: T0 }), expect: err('Duplicate', { duplicate_of: 1n }), note: 'created + window = now: still in the window' },
      { ...icrc(ALICE.text, acct(BOB.text), 100n, T0 + WINDOW + 1n, { cat: T0 }), expect: err('TooOld') },
      { ...legacy(ALICE.text, ID.bob, 100n, 10_000n, T0 + WINDOW + 1n, { cat: T0 }), expect: err('TxTooOld', { allowed_window_nanos: WINDOW }) },
      { ...legacy(ALICE.text, ID.bob, 100n, 10_000n, T0 + WINDOW + 1n, { cat: T0 + WINDOW + 62n * SEC }), expect: err('TxCreatedInFuture') },
      { ...legacy(ALICE.text, ID.bob, 100n, 10_000n, T0 + WINDOW + 2n, { memo: 7n }), expect: ok(6n), note: 'legacy without created_at_time is created at now' },
      { ...legacy(ALICE.text, ID.bob, 100n, 10_000n, T0 + WINDOW + 2n, { memo: 7n }), expect: err('TxDuplicate', { duplicate_of: 6n }), note: 'same call at the same time: a duplicate' },
      { ...legacy(ALICE.text, ID.bob, 100n, 10_000n, T0 + WINDOW + 3n, { memo: 7n }), expect: ok(7n), note: 'one nanosecond later: a new transaction' },
      { ...legacy(ALICE.text, ID.bob, 100n, 10_000n, T0 + WINDOW + 3n, { memo: 7n, cat: T0 + WINDOW + 2n }), expect: err('TxDuplicate', { duplicate_of: 6n }) },
      { ...icrc(ALICE.text, acct(BOB.text), 100n, T0 + WINDOW + 2n), expect: variant('NotEnabled', UNIT), note: 'time never goes backwards' },
      { ...icrc(ALICE.text, acct(BOB.text), 100n, T0 + 3n * WINDOW, { cat: T0 + 3n * WINDOW }), expect: ok(8n), note: 'everything before is purged' },
    ],
  },
  {
    name: 'legacy-transfer',
    description: 'The legacy transfer endpoint: destination checks, anonymous caller, fee, queries',
    requirements: ['LED-LEGACY-TRANSFER.1', 'LED-LEGACY-TO.1', 'LED-ACCOUNT-ID-CHECK.1', 'LED-ACCOUNT-ID.1', 'LED-QUERY-BALANCE.1', 'LED-QUERY-ACCOUNT-BALANCE.1', 'LED-BLOCK-ENCODING.1', 'LED-BLOCK-HASH.1'],
    init: init([[ID.alice, 1_000_000n], [ID.carol, 20_000n]]),
    steps: [
      { ...legacy(ALICE.text, ID.bob, 250_000n, 10_000n, T0 + SEC, { memo: 42n }), expect: ok(2n) },
      { ...legacy(ALICE.text, ID.bob, 1n, 9_999n, T0 + SEC), expect: err('BadFee', { expected_fee: 10_000n }) },
      {
        ...legacy(ALICE.text, BAD_BOB, 1n, 10_000n, T0 + SEC),
        expect: trap('InvalidAccountId', `Invalid account identifier: Checksum failed for ${BAD_BOB}, expected check bytes ${toHex(crc32be(fromHex(BAD_BOB)!.subarray(4)))} but found ${BAD_BOB.slice(0, 8)}`),
        note: 'last byte changed: checksum fails',
      },
      { ...legacy(ALICE.text, ID.bob.slice(0, 62), 1n, 10_000n, T0 + SEC), expect: trap('InvalidAccountId', 'Invalid account identifier: expected 32 bytes, got 31') },
      { ...legacy(ANON, ID.bob, 1n, 10_000n, T0 + SEC), expect: trap('AnonymousCaller', 'Sending from 2vxsx-fae is not allowed') },
      { ...legacy(CAROL.text, ID.alice, 10_001n, 10_000n, T0 + SEC), expect: err('InsufficientFunds', { balance: 20_000n }) },
      { ...legacy(CAROL.text, ID.alice, 10_000n, 10_000n, T0 + SEC), expect: ok(3n) },
      { tag: 'AccountBalance', args: { account: ID.alice }, expect: ok(1_000_000n - 260_000n + 10_000n) },
      { tag: 'AccountBalance', args: { account: ID.carol }, expect: ok(0n) },
      { tag: 'AccountBalance', args: { account: 'abcd' }, expect: ok(0n), note: 'not 32 bytes: reads as 0' },
      { tag: 'BalanceOf', args: { account: acct(BOB.text) }, expect: ok(250_000n) },
    ],
  },
];


export const recordScenario = (sc: Scenario): { trace: unknown; problems: string[] } => {
  const { trace } = record(ledgerMachine, sc.init, sc.steps, {
    meta: { description: sc.description, requirements: sc.requirements, source: 'scripts/ledger-scenarios.ts' },
  });
  const states = (trace as { states: Array<Record<string, unknown>> }).states;
  const problems: string[] = [];
  sc.steps.forEach((st, k) => {
    const actual = fromJson(states[k + 1]![OUTCOME_VAR]);
    const d = diff(st.expect, actual, 'outcome');
    if (d) problems.push(`${sc.name} step ${k + 1} (${st.tag}${st.note ? `: ${st.note}` : ''}): ${d.path}: expected ${d.expected === undefined ? '(absent)' : render(d.expected)}, reference gives ${d.actual === undefined ? '(absent)' : render(d.actual)}`);
  });
  return { trace, problems };
};

export const scenarioFile = (name: string) => join(packageRoot(), 'traces', 'ledger', 'scenarios', `${name}.itf.json`);

