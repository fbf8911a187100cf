/**
 * Arbitraries for ITF values (in memory and as JSON) and for the ledger's action arguments
 * in their trace (ITF JSON) form, plus small JSON-pointer helpers used by the trace tests.
 */
import fc from 'fast-check';
import { toHex, utf8 } from '../src/core/bytes.js';
import { U64_MAX } from '../src/core/num.js';
import { canisterId, crc32be, principalFromBytes, selfAuthenticating, type Principal } from '../src/core/principal.js';
import { accountId } from '../src/ledger/account.js';
import { ledgerMachine } from '../src/ledger/machine.js';
import { canon, NONE, some, type ItfValue } from '../src/trace/itf.js';
import { record, type RecordedAction } from '../src/trace/replay.js';
import { arbPrincipal } from './helpers.js';

// ---------------------------------------------------------------- generic ITF values

/** The four spellings of a unit payload ([TRC-ITF-UNIT.1]). */
export const UNIT_SPELLINGS: readonly ItfValue[] = [{ '#tup': [] }, {}, 'U_OF_UNIT', { tag: 'UNIT' }];
export const arbUnit: fc.Arbitrary<ItfValue> = fc.constantFrom(...UNIT_SPELLINGS);

/** Integers, including ones far beyond 2^64 (and negative ones). */
export const arbInt: fc.Arbitrary<bigint> = fc.oneof(
  fc.bigInt({ min: -100n, max: 100n }),
  fc.bigInt({ min: -(1n << 130n), max: 1n << 130n }),
  fc.bigInt({ min: U64_MAX - 5n, max: U64_MAX + 5n }),
);

/** Strings from a small alphabet that includes JSON-pointer specials; never a unit spelling. */
const arbStr = fc.string({ unit: fc.constantFrom('a', 'b', 'c', '/', '~', '"', ' '), maxLength: 4 });
/** Record field names: never `tag`/`value` (so a record is not a variant), never `#…`; with pointer specials. */
const arbField = fc.constantFrom('a', 'b', 'c', 'x/y', 't~0', 'e f');
const arbTag = fc.constantFrom('A', 'B', 'Some', 'None');

/** Random ITF values; sets have canonically distinct elements and maps distinct keys. */
export const arbItf: fc.Arbitrary<ItfValue> = fc.letrec<{ value: ItfValue }>((tie) => {
  const value = tie('value');
  return {
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      arbInt as fc.Arbitrary<ItfValue>,
      fc.boolean() as fc.Arbitrary<ItfValue>,
      arbStr as fc.Arbitrary<ItfValue>,
      fc.array(value, { maxLength: 3 }) as fc.Arbitrary<ItfValue>,
      fc.array(value, { maxLength: 3 }).map((xs): ItfValue => ({ '#tup': xs })),
      fc.uniqueArray(value, { maxLength: 3, selector: canon }).map((xs): ItfValue => ({ '#set': xs })),
      fc
        .uniqueArray(fc.tuple(value, value), { maxLength: 3, selector: ([k]) => canon(k) })
        .map((es): ItfValue => ({ '#map': es.map(([k, v]) => [k, v] as const) })),
      fc.dictionary(arbField, value, { maxKeys: 3 }) as fc.Arbitrary<ItfValue>,
      fc.record({ tag: arbTag, value: fc.oneof(value, arbUnit) }) as fc.Arbitrary<ItfValue>,
    ),
  };
}).value;

// ---------------------------------------------------------------- JSON pointers over ITF JSON

export type Json = unknown;

export const escSeg = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');
export const pointerOf = (segs: readonly string[]): string => segs.map((s) => `/${escSeg(s)}`).join('');

/** Resolve a JSON pointer (RFC 6901) in a JSON value; `undefined` when it does not resolve. */
export const resolvePointer = (j: Json, ptr: string): { found: boolean; value?: Json } => {
  if (ptr === '') return { found: true, value: j };
  if (!ptr.startsWith('/')) return { found: false };
  let cur: Json = j;
  for (const raw of ptr.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9][0-9]*)$/.test(seg) || Number(seg) >= cur.length) return { found: false };
      cur = cur[Number(seg)];
    } else if (cur !== null && typeof cur === 'object' && Object.prototype.hasOwnProperty.call(cur, seg)) {
      cur = (cur as Record<string, Json>)[seg];
    } else return { found: false };
  }
  return { found: true, value: cur };
};

/** Leaves of an ITF JSON value (`{"#bigint"}` objects, booleans, strings, numbers) with their segment paths. */
export const jsonLeaves = (j: Json, segs: string[] = []): string[][] => {
  if (typeof j === 'boolean' || typeof j === 'string' || typeof j === 'number') return [segs];
  if (Array.isArray(j)) return j.flatMap((x, i) => jsonLeaves(x, [...segs, String(i)]));
  const o = j as Record<string, Json>;
  const ks = Object.keys(o);
  if (ks.length === 1 && ks[0] === '#bigint') return [segs];
  if (ks.length === 1 && (ks[0] === '#tup' || ks[0] === '#set')) return (o[ks[0]] as Json[]).flatMap((x, i) => jsonLeaves(x, [...segs, ks[0]!, String(i)]));
  if (ks.length === 1 && ks[0] === '#map')
    return (o['#map'] as Json[][]).flatMap((e, i) => [...jsonLeaves(e[0], [...segs, '#map', String(i), '0']), ...jsonLeaves(e[1], [...segs, '#map', String(i), '1'])]);
  return ks.flatMap((k) => jsonLeaves(o[k], [...segs, k]));
};

/** A copy of `j` with the value at `segs` replaced by `f(old)`. */
export const updateAt = (j: Json, segs: readonly string[], f: (old: Json) => Json): Json => {
  if (segs.length === 0) return f(j);
  const [s, ...rest] = segs as [string, ...string[]];
  if (Array.isArray(j)) return j.map((x, i) => (String(i) === s ? updateAt(x, rest, f) : x));
  const o = j as Record<string, Json>;
  const out: Record<string, Json> = {};
  for (const k of Object.keys(o)) out[k] = k === s ? updateAt(o[k], rest, f) : o[k];
  return out;
};

/** A copy of `j` without the field at `segs` (the last segment names a record field). */
export const deleteAt = (j: Json, segs: readonly string[]): Json => {
  const last = segs[segs.length - 1]!;
  return updateAt(j, segs.slice(0, -1), (o) => {
    const c = { ...(o as Record<string, Json>) };
    delete c[last];
    return c;
  });
};

// ---------------------------------------------------------------- ledger action arguments (ITF JSON)

const hex = (b: Uint8Array) => toHex(b);
/** nat / nat64 as ITF JSON: `{"#bigint"}`, or a legacy JSON integer when it is safe. */
const intJson = (max: bigint): fc.Arbitrary<Json> =>
  fc
    .tuple(fc.oneof(fc.bigInt({ min: 0n, max: 1000n }), fc.bigInt({ min: 0n, max }), fc.constant(max)), fc.boolean())
    .map(([n, legacy]) => (legacy && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : { '#bigint': n.toString() }));

export const arbNatJson = intJson(1n << 100n);
export const arbNat64Json = intJson(U64_MAX);
export const arbPrincipalJson: fc.Arbitrary<Json> = arbPrincipal.map((p) => p.text);
export const arbBlob32Json: fc.Arbitrary<Json> = fc
  .tuple(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.boolean())
  .map(([b, up]) => (up ? hex(b).toUpperCase() : hex(b)));
export const arbBlobJson: fc.Arbitrary<Json> = fc.uint8Array({ maxLength: 40 }).map(hex);
/** A valid account identifier (CRC32 of the 28-byte hash in front), as hex. */
export const arbAccountIdJson: fc.Arbitrary<Json> = fc.uint8Array({ minLength: 28, maxLength: 28 }).map((h) => hex(crc32be(h)) + hex(h));
export const arbNoneJson: fc.Arbitrary<Json> = fc.oneof(arbUnit.map((u) => ({ tag: 'None', value: u })), fc.constant({ tag: 'None' }));
export const arbOptJson = (x: fc.Arbitrary<Json>): fc.Arbitrary<Json> => fc.oneof(arbNoneJson, x.map((value) => ({ tag: 'Some', value })));
export const arbAccountJson: fc.Arbitrary<Json> = fc.record({ owner: arbPrincipalJson, subaccount: arbOptJson(arbBlob32Json) });

/** The kind of each argument field, to build ill-typed mutations. */
export type FieldKind = 'principal' | 'blob' | 'blob32' | 'nat' | 'nat64' | 'opt' | 'account' | 'list';
export interface ActionVocab {
  readonly arb: fc.Arbitrary<Record<string, Json>>;
  /** field → kind, and whether the field is an Option (its absence decodes as None) */
  readonly fields: Readonly<Record<string, { kind: FieldKind; opt: boolean; required: boolean }>>;
}

const F = (kind: FieldKind, opt = false, required = true) => ({ kind, opt, required });

export const LEDGER_ACTIONS: Readonly<Record<string, ActionVocab>> = {
  Init: {
    arb: fc.record(
      {
        minting_account: arbAccountJson,
        transfer_fee: arbOptJson(arbNat64Json),
        transaction_window: arbOptJson(arbNat64Json),
        permitted_drift: arbOptJson(arbNat64Json),
        initial_values: arbOptJson(fc.array(fc.tuple(arbAccountIdJson, arbNat64Json).map((t) => ({ '#tup': t })), { maxLength: 3 })),
        time: arbOptJson(arbNat64Json),
      },
      { requiredKeys: ['minting_account'] },
    ),
    fields: {
      minting_account: F('account'),
      transfer_fee: F('opt', true, false),
      transaction_window: F('opt', true, false),
      permitted_drift: F('opt', true, false),
      initial_values: F('opt', true, false),
      time: F('opt', true, false),
    },
  },
  Icrc1Transfer: {
    arb: fc.record({
      caller: arbPrincipalJson,
      from_subaccount: arbOptJson(arbBlob32Json),
      to: arbAccountJson,
      amount: arbNatJson,
      fee: arbOptJson(arbNatJson),
      memo: arbOptJson(arbBlobJson),
      created_at_time: arbOptJson(arbNat64Json),
      now: arbNat64Json,
    }),
    fields: {
      caller: F('principal'),
      from_subaccount: F('opt', true),
      to: F('account'),
      amount: F('nat'),
      fee: F('opt', true),
      memo: F('opt', true),
      created_at_time: F('opt', true),
      now: F('nat64'),
    },
  },
  Transfer: {
    arb: fc.record({
      caller: arbPrincipalJson,
      from_subaccount: arbOptJson(arbBlob32Json),
      to: arbBlobJson,
      amount: arbNat64Json,
      fee: arbNat64Json,
      memo: arbNat64Json,
      created_at_time: arbOptJson(arbNat64Json),
      now: arbNat64Json,
    }),
    fields: {
      caller: F('principal'),
      from_subaccount: F('opt', true),
      to: F('blob'),
      amount: F('nat64'),
      fee: F('nat64'),
      memo: F('nat64'),
      created_at_time: F('opt', true),
      now: F('nat64'),
    },
  },
  BalanceOf: { arb: fc.record({ account: arbAccountJson }), fields: { account: F('account') } },
  AccountBalance: { arb: fc.record({ account: arbBlobJson }), fields: { account: F('blob') } },
};

/** Values of a different JSON/ITF type than a field of the given kind expects. */
export const wrongTypeFor = (kind: FieldKind): fc.Arbitrary<Json> => {
  const common: Json[] = [true, false, [], [1]];
  switch (kind) {
    case 'principal':
    case 'blob':
    case 'blob32':
      return fc.constantFrom<Json>(...common, 7, { '#bigint': '7' }, { tag: 'Some', value: '00' }, {});
    case 'nat':
    case 'nat64':
      return fc.constantFrom<Json>(...common, 'ab', '12', -1, { '#bigint': '-3' }, { tag: 'None' }, {});
    case 'opt':
      return fc.constantFrom<Json>(...common, 'ab', 3, { '#bigint': '1' }, { tag: 'Maybe', value: { '#tup': [] } }, { tag: 'Some', value: true }, { tag: 'Some' });
    case 'account':
      return fc.constantFrom<Json>(...common, 'aaaaa-aa', 3, { '#bigint': '1' }, { tag: 'Some', value: 'aaaaa-aa' }, { owner: true, subaccount: { tag: 'None' } });
    case 'list':
      return fc.constantFrom<Json>(true, 'ab', 3, {});
  }
};

// ---------------------------------------------------------------- a small valid ledger trace

const MINTER = canisterId(99n);
const ALICE = principalFromBytes(new Uint8Array([1, 2, 3])) as Principal;
const BOB = selfAuthenticating(utf8('bob'));
export const SAMPLE_IDS = { alice: accountId({ owner: ALICE }), bob: accountId({ owner: BOB }), minter: accountId({ owner: MINTER }) };
const acct = (p: Principal, sub?: string): ItfValue => ({ owner: p.text, subaccount: sub === undefined ? NONE : some(sub) });
const opt = (x: ItfValue | undefined): ItfValue => (x === undefined ? NONE : some(x));
const icrc = (caller: Principal, to: ItfValue, amount: bigint, now: bigint, fee?: bigint): RecordedAction => ({
  tag: 'Icrc1Transfer',
  args: { caller: caller.text, from_subaccount: NONE, to, amount, fee: opt(fee), memo: NONE, created_at_time: NONE, now },
});
const legacy = (caller: Principal, to: string, amount: bigint, now: bigint): RecordedAction => ({
  tag: 'Transfer',
  args: { caller: caller.text, from_subaccount: NONE, to, amount, fee: 10_000n, memo: 7n, created_at_time: NONE, now },
});

const INIT: ItfValue = {
  minting_account: acct(MINTER),
  initial_values: some([{ '#tup': [SAMPLE_IDS.alice, 100_000_000n] }, { '#tup': [SAMPLE_IDS.bob, 50_000n] }]),
  time: some(1_000n),
};
const ACTIONS: RecordedAction[] = [
  icrc(ALICE, acct(BOB), 1_000_000n, 2_000n), // 1: Ok(2)
  legacy(BOB, SAMPLE_IDS.alice, 10_000n, 3_000n), // 2: Ok(3)
  icrc(BOB, acct(ALICE), 1_000_000_000_000n, 4_000n), // 3: Err(InsufficientFunds)
  icrc(ALICE, acct(MINTER), 50_000n, 5_000n), // 4: burn, Ok(4)
];
export const SAMPLE_REQS = ['LED-ICRC1-TRANSFER.1', 'LED-LEGACY-TRANSFER.1'];

export type TraceJson = { '#meta': Record<string, unknown>; vars: string[]; states: Array<Record<string, Json>> };
/**
 * A small valid ledger trace written by record(): init with a minting account and two
 * initial values, then an ICRC-1 transfer (Ok 2), a legacy transfer (Ok 3), a rejected
 * ICRC-1 transfer (InsufficientFunds) and a burn (Ok 4).
 */
export const sampleLedgerTrace = (): TraceJson => record(ledgerMachine, INIT, ACTIONS, { meta: { requirements: SAMPLE_REQS, description: 'test' } }).trace as TraceJson;
