import _Ajv2020Full from 'ajv/dist/2020.js';
/** ITF values, canonical comparison, diff, codecs, and the agreement of the ledger schema with its io-ts codecs. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { isRight } from 'fp-ts/lib/Either.js';
import _Ajv2020 from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import { describe, expect, it } from 'vitest';
import { toHex } from '../src/core/bytes.js';
import { U64_MAX } from '../src/core/num.js';
import { canisterId } from '../src/core/principal.js';
import { ledgerMachine } from '../src/ledger/machine.js';
import { Blob, decodeWith, Nat, Opt, PrincipalText, Rec, U64, Unit } from '../src/trace/codecs.js';
import { canon, diff, fromJson, ItfDecodeError, itfEqual, toJson, variant, type ItfValue } from '../src/trace/itf.js';
import {
  arbItf,
  arbUnit,
  deleteAt,
  jsonLeaves,
  LEDGER_ACTIONS,
  pointerOf,
  resolvePointer,
  UNIT_SPELLINGS,
  updateAt,
  wrongTypeFor,
  type Json,
} from './arbitraries-itf.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const Ajv2020 = ((_Ajv2020 as any).default ?? _Ajv2020) as typeof import('ajv/dist/2020.js').default;

// ---------------------------------------------------------------- helpers

/** Shuffle every set and map and the field order of every record; respell unit payloads. */
const scramble = (v: ItfValue, rnd: () => number): ItfValue => {
  const perm = <T>(xs: readonly T[]): T[] => {
    const a = [...xs];
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  };
  if (typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => scramble(x, rnd));
  const o = v as Record<string, ItfValue>;
  const ks = Object.keys(o);
  if (ks.length === 1 && ks[0] === '#tup') return { '#tup': (o['#tup'] as unknown as ItfValue[]).map((x) => scramble(x, rnd)) };
  if (ks.length === 1 && ks[0] === '#set') return { '#set': perm(o['#set'] as unknown as ItfValue[]).map((x) => scramble(x, rnd)) };
  if (ks.length === 1 && ks[0] === '#map')
    return { '#map': perm(o['#map'] as unknown as Array<[ItfValue, ItfValue]>).map(([k, x]) => [scramble(k, rnd), scramble(x, rnd)] as const) };
  if (ks.length === 2 && typeof o.tag === 'string' && 'value' in o) {
    const isUnit = UNIT_SPELLINGS.some((u) => canon(u) === canon(o.value!));
    const value = isUnit ? UNIT_SPELLINGS[Math.floor(rnd() * UNIT_SPELLINGS.length)]! : scramble(o.value!, rnd);
    return rnd() < 0.5 ? { tag: o.tag, value } : { value, tag: o.tag };
  }
  const out: Record<string, ItfValue> = {};
  for (const k of perm(ks)) out[k] = scramble(o[k]!, rnd);
  return out;
};

/** No set with canonically equal elements and no map with canonically equal keys, anywhere. */
const noDuplicates = (v: ItfValue): boolean => {
  if (typeof v !== 'object') return true;
  if (Array.isArray(v)) return v.every(noDuplicates);
  const o = v as Record<string, unknown>;
  if ('#set' in o) {
    const xs = o['#set'] as ItfValue[];
    return new Set(xs.map(canon)).size === xs.length && xs.every(noDuplicates);
  }
  if ('#map' in o) {
    const es = o['#map'] as Array<[ItfValue, ItfValue]>;
    return new Set(es.map(([k]) => canon(k))).size === es.length && es.every(([k, x]) => noDuplicates(k) && noDuplicates(x));
  }
  if ('#tup' in o) return (o['#tup'] as ItfValue[]).every(noDuplicates);
  return Object.values(o).every((x) => noDuplicates(x as ItfValue));
};

/** Change a JSON leaf to a value no generator produces (so it cannot collide). */
const changeLeaf = (old: Json): Json => {
  if (typeof old === 'boolean') return !old;
  if (typeof old === 'string') return `${old}§`;
  if (typeof old === 'number') return old + 1;
  return { '#bigint': (BigInt((old as { '#bigint': string })['#bigint']) + (1n << 200n)).toString() };
};

/** Does the path go through a set element or a map key (where diff reports the element/entry as missing)? */
const throughIdentity = (segs: readonly string[]): boolean => expectedPointer(segs) !== pointerOf(segs) || segs.includes('#set') || segs.some((s, i) => s === '#map' && segs[i + 2] === '0');

/** Where diff must point for a change at `segs`: the leaf itself, or the set element / map entry whose identity changed. */
const expectedPointer = (segs: readonly string[]): string => {
  for (let i = 0; i < segs.length; i++) {
    if (segs[i] === '#set') return pointerOf(segs.slice(0, i + 2));
    if (segs[i] === '#map' && segs[i + 2] === '0') return pointerOf(segs.slice(0, i + 2));
    if (segs[i] === '#map') i += 2; // skip index and the "1" of the value
  }
  return pointerOf(segs);
};

// ---------------------------------------------------------------- canonical comparison, diff

describe('canonical comparison', () => {
  it('[TRC-CANON.1] canon/itfEqual/diff are invariant under shuffling sets, maps and record fields and respelling units', () => {
    fc.assert(
      fc.property(arbItf, fc.integer(), (v, seed) => {
        let s = seed >>> 0 || 1;
        const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0), s / 2 ** 32);
        const w = scramble(v, rnd);
        expect(canon(w)).toBe(canon(v));
        expect(itfEqual(v, w)).toBe(true);
        expect(diff(v, w)).toBeUndefined();
        expect(diff(w, v)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it('[TRC-CANON.1] when one leaf changes, diff reports a difference whose pointer resolves in the expected JSON to the changed leaf (or the set element / map entry holding it)', () => {
    const arbCase = arbItf
      .map((v) => ({ v, leaves: jsonLeaves(toJson(v)) }))
      .filter((c) => c.leaves.length > 0)
      .chain((c) => fc.record({ v: fc.constant(c.v), segs: fc.constantFrom(...c.leaves) }));
    fc.assert(
      fc.property(arbCase, ({ v, segs }) => {
        const expectedJson = toJson(v);
        const changedJson = updateAt(expectedJson, segs, changeLeaf);
        let w: ItfValue;
        try {
          w = fromJson(changedJson);
        } catch {
          fc.pre(false); // the change made two set elements or map keys equal: not a well-formed value
          return;
        }
        fc.pre(noDuplicates(w));
        expect(itfEqual(v, w)).toBe(false);
        const d = diff(v, w, 'x');
        expect(d).toBeDefined();
        expect(resolvePointer(expectedJson, d!.pointer).found).toBe(true);
        expect(d!.pointer).toBe(expectedPointer(segs));
        // the expected side of the report is the value at the pointer (or the element/entry there)
        if (!throughIdentity(segs)) {
          expect(d!.expected !== undefined && canon(d!.expected)).toBe(canon(fromJson(resolvePointer(expectedJson, d!.pointer).value)));
          expect(d!.actual !== undefined && canon(d!.actual)).toBe(canon(fromJson(resolvePointer(changedJson, d!.pointer).value)));
        }
        // and symmetric: diff(w, v) also finds it
        expect(diff(w, v)).toBeDefined();
      }),
      { numRuns: 400 },
    );
  });

  it('[TRC-CANON.1] diff is undefined exactly when canon is equal', () => {
    fc.assert(
      fc.property(arbItf, arbItf, (a, b) => {
        expect(diff(a, b) === undefined).toBe(canon(a) === canon(b));
        expect(diff(a, a)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it('[TRC-CANON.1] maps may have record keys; entry order does not matter but values do', () => {
    const k1: ItfValue = { owner: 'a', sub: 1n };
    const k2: ItfValue = { sub: 2n, owner: 'a' };
    const m1: ItfValue = { '#map': [[k1, 10n], [k2, 20n]] };
    const m2: ItfValue = { '#map': [[{ sub: 2n, owner: 'a' }, 20n], [{ sub: 1n, owner: 'a' }, 10n]] };
    expect(itfEqual(m1, m2)).toBe(true);
    const m3: ItfValue = { '#map': [[k2, 20n], [k1, 11n]] };
    const d = diff(m1, m3, 'm');
    expect(d?.pointer).toBe('/#map/0/1');
    expect(d?.expected).toBe(10n);
    expect(d?.actual).toBe(11n);
  });
});

// ---------------------------------------------------------------- JSON round trip, integers, units

describe('ITF JSON', () => {
  it('[TRC-ITF-INT.1] fromJson(toJson(v)) = v for random values with integers beyond 2^64, written as {"#bigint"}', () => {
    fc.assert(
      fc.property(arbItf, (v) => {
        const j = toJson(v);
        expect(JSON.stringify(j)).not.toMatch(/:\s*-?\d/); // no plain JSON numbers are written
        const back = fromJson(JSON.parse(JSON.stringify(j)));
        expect(back).toEqual(v);
        expect(canon(back)).toBe(canon(v));
      }),
      { numRuns: 300 },
    );
  });

  it('[TRC-ITF-INT.1] legacy JSON integers within the safe range are read as integers; fractions and unsafe numbers are rejected at their pointer', () => {
    const arbCase = arbItf
      .map((v) => ({ v, j: toJson(v) }))
      .chain(({ v, j }) => {
        const ints = jsonLeaves(j).filter((s) => {
          const r = resolvePointer(j, pointerOf(s)).value;
          return typeof r === 'object' && r !== null && '#bigint' in r;
        });
        return fc.record({ v: fc.constant(v), j: fc.constant(j), ints: fc.constant(ints), pick: fc.nat() });
      });
    fc.assert(
      fc.property(arbCase, fc.constantFrom(0.5, 1.25, -3.5, 2 ** 53, -(2 ** 60), Number.NaN), ({ v, j, ints, pick }, bad) => {
        // legacy: every safe {"#bigint"} as a plain number
        const legacy = ints.reduce((acc, s) => {
          const n = BigInt((resolvePointer(acc, pointerOf(s)).value as { '#bigint': string })['#bigint']);
          return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? updateAt(acc, s, () => Number(n)) : acc;
        }, j as Json);
        expect(canon(fromJson(legacy))).toBe(canon(v));
        // a fraction (or an unsafe integer) anywhere is rejected with the pointer of that place
        fc.pre(ints.length > 0);
        const segs = ints[pick % ints.length]!;
        const broken = updateAt(j, segs, () => bad);
        let err: unknown;
        try {
          fromJson(broken);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(ItfDecodeError);
        expect((err as ItfDecodeError).pointer).toBe(pointerOf(segs));
      }),
      { numRuns: 200 },
    );
    expect(() => fromJson({ '#bigint': '1.5' })).toThrow(ItfDecodeError);
    expect(() => fromJson({ '#bigint': '1e3' })).toThrow(ItfDecodeError);
    expect(fromJson(12)).toBe(12n);
  });

  it('[TRC-ITF-UNIT.1] the four unit spellings are equal as variant payloads, and differ from any other payload', () => {
    fc.assert(
      fc.property(arbUnit, arbUnit, fc.constantFrom('None', 'NotEnabled', 'TooOld'), arbItf, (u1, u2, tag, other) => {
        expect(itfEqual(variant(tag, u1), variant(tag, u2))).toBe(true);
        expect(diff(variant(tag, u1), variant(tag, u2))).toBeUndefined();
        expect(itfEqual(fromJson(toJson(variant(tag, u1))), variant(tag, u2))).toBe(true);
        expect(isRight(Unit.decode(u1))).toBe(true);
        const otherIsUnit = UNIT_SPELLINGS.some((u) => canon(u) === canon(other));
        expect(itfEqual(variant(tag, u1), variant(tag, other))).toBe(otherIsUnit);
        expect(itfEqual(variant(tag, u1), variant(`${tag}x`, u2))).toBe(false);
      }),
    );
    for (const notUnit of [0n, 'U', { '#tup': [true] }, { a: 1n }, []] as ItfValue[]) expect(isRight(Unit.decode(notUnit))).toBe(false);
  });
});

// ---------------------------------------------------------------- codecs

const accepts = (c: { decode: (u: unknown) => unknown }, u: unknown) => isRight(c.decode(u) as never);

describe('codecs', () => {
  it('[TRC-ITF-OPTION.1] Opt: Some(v) decodes v, None (any unit, or no value) and a missing field decode as absent; anything else is rejected', () => {
    const O = Opt(U64);
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: U64_MAX }), arbUnit, (n, u) => {
        expect(decodeWith(O, { tag: 'Some', value: n })).toEqual({ ok: true, value: n });
        expect(decodeWith(O, { tag: 'None', value: u })).toEqual({ ok: true, value: undefined });
        expect(decodeWith(O, { tag: 'None' })).toEqual({ ok: true, value: undefined });
        expect(decodeWith(O, undefined)).toEqual({ ok: true, value: undefined });
        expect(accepts(O, n)).toBe(false); // a bare value is not an option
        expect(accepts(O, { tag: 'Some', value: n + U64_MAX + 1n })).toBe(false);
        expect(accepts(O, { tag: 'Maybe', value: n })).toBe(false);
        expect(O.encode(n)).toEqual({ tag: 'Some', value: n });
        expect(O.encode(undefined)).toEqual({ tag: 'None', value: { '#tup': [] } });
      }),
    );
    const R = Rec('R', { a: Opt(Nat), b: Nat });
    expect(decodeWith(R, { b: 1n })).toEqual({ ok: true, value: { a: undefined, b: 1n } });
    const bad = decodeWith(R, { a: { tag: 'Some', value: -1n }, b: 1n });
    expect(bad).toMatchObject({ ok: false, pointer: '/a/value' });
  });

  it('[TRC-RANGE.1] U64 accepts 0..2^64-1 and rejects 2^64 and above and negatives; Nat accepts any n ≥ 0', () => {
    expect(decodeWith(U64, U64_MAX)).toEqual({ ok: true, value: U64_MAX });
    expect(decodeWith(U64, 0n)).toEqual({ ok: true, value: 0n });
    expect(decodeWith(U64, U64_MAX + 1n).ok).toBe(false);
    expect(decodeWith(U64, -1n).ok).toBe(false);
    fc.assert(
      fc.property(fc.bigInt({ min: -(1n << 80n), max: 1n << 80n }), (n) => {
        expect(accepts(U64, n)).toBe(n >= 0n && n <= U64_MAX);
        expect(accepts(Nat, n)).toBe(n >= 0n);
        expect(accepts(U64, Number(n))).toBe(false); // only bigints (fromJson turns JSON numbers into bigints)
        expect(accepts(Nat, n.toString())).toBe(false);
      }),
    );
  });

  it('[TRC-RANGE.1] Blob(32) accepts exactly 32 bytes of hex (either case); other lengths, odd or non-hex strings are rejected', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.boolean(), (b, up) => {
        const h = up ? toHex(b).toUpperCase() : toHex(b);
        const r = decodeWith(Blob(32), h);
        expect(r.ok).toBe(b.length === 32);
        if (r.ok) expect(toHex(r.value)).toBe(toHex(b));
        expect(decodeWith(Blob(), h).ok).toBe(true);
        expect(accepts(Blob(32), h + '0')).toBe(false);
        expect(accepts(Blob(32), `${h.slice(0, -2)}zz`)).toBe(false);
      }),
    );
    expect(accepts(Blob(32), 32n)).toBe(false);
  });

  it('[TRC-RANGE.1] [PRN-PARSE.1] PrincipalText accepts only canonical text', () => {
    expect(decodeWith(PrincipalText, 'ryjl3-tyaaa-aaaaa-aaaba-cai').ok).toBe(true);
    for (const bad of ['RYJL3-TYAAA-AAAAA-AAABA-CAI', 'ryjl3-tyaaa-aaaaa-aaaba-caj', 'ryjl3tyaaa-aaaaa-aaaba-cai', '', 5n, toHex(canisterId(2n).bytes)])
      expect(decodeWith(PrincipalText, bad).ok, String(bad)).toBe(false);
  });

  it('[TRC-RANGE.1] Rec rejects unknown fields (with the field as pointer) and missing non-optional fields', () => {
    const R = Rec('R', { a: Nat, b: Opt(Nat) });
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 6 }).filter((k) => k !== 'a' && k !== 'b' && !k.includes('/') && !k.includes('~')), (k) => {
        const r = decodeWith(R, { a: 1n, [k]: 2n });
        expect(r).toMatchObject({ ok: false, pointer: `/${k}` });
        expect((r as { message: string }).message).toContain(k);
      }),
    );
    expect(decodeWith(R, { b: { tag: 'None' } }).ok).toBe(false);
    expect(decodeWith(R, [1n]).ok).toBe(false);
  });
});

// ---------------------------------------------------------------- schema / codec agreement

const ledgerSchema = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'spec', 'schema', 'ledger.schema.json'), 'utf8')) as { $id: string };
const ajv = new Ajv2020({ allErrors: false, strict: false });
ajv.addSchema(ledgerSchema);
const schemaOf = (tag: string): ValidateFunction => ajv.getSchema(`${ledgerSchema.$id}#/$defs/actions/${tag}`)!;
const codecOf = (tag: string) => (tag === ledgerMachine.initAction ? ledgerMachine.initArgs : ledgerMachine.actions[tag]!.args);

/** Does the io-ts codec accept this JSON (after the generic JSON → ITF step)? */
const codecAcceptsJson = (tag: string, j: Json): boolean => {
  let v: ItfValue;
  try {
    v = fromJson(j);
  } catch {
    return false;
  }
  return decodeWith(codecOf(tag), v).ok;
};

type Mutation =
  | { kind: 'wrong-type'; field: string; value: Json }
  | { kind: 'missing'; field: string }
  | { kind: 'extra'; field: string }
  | { kind: 'u64-range'; field: string; value: Json }
  | { kind: 'bad-principal'; path: string[]; value: string }
  | { kind: 'upper-principal'; path: string[] }
  | { kind: 'blob32-length'; path: string[]; value: string };

const arbMutation = (tag: string, args: Record<string, Json>): fc.Arbitrary<Mutation> => {
  const { fields } = LEDGER_ACTIONS[tag]!;
  const names = Object.keys(fields);
  const present = names.filter((f) => f in args);
  const opts: Array<fc.Arbitrary<Mutation>> = [
    fc.constantFrom(...present).chain((field) => wrongTypeFor(fields[field]!.kind).map((value): Mutation => ({ kind: 'wrong-type', field, value }))),
    fc.constantFrom(...present).map((field): Mutation => ({ kind: 'missing', field })),
    fc.constantFrom('extra', 'Amount', 'created_at', 'owner', '#x').map((field): Mutation => ({ kind: 'extra', field })),
  ];
  const n64 = present.filter((f) => fields[f]!.kind === 'nat64');
  if (n64.length)
    opts.push(
      fc.tuple(fc.constantFrom(...n64), fc.bigInt({ min: U64_MAX + 1n, max: 10n ** 20n - 1n })).map(([field, n]): Mutation => ({ kind: 'u64-range', field, value: { '#bigint': n.toString() } })),
    );
  // principals: the caller, or an account's owner
  const principalPaths: string[][] = [];
  for (const f of present) {
    if (fields[f]!.kind === 'principal') principalPaths.push([f]);
    if (fields[f]!.kind === 'account') principalPaths.push([f, 'owner']);
  }
  if (principalPaths.length) {
    const pp = fc.constantFrom(...principalPaths);
    opts.push(
      fc.tuple(pp, fc.nat()).map(([path, i]): Mutation => {
        const text = resolvePointer(args, pointerOf(path)).value as string;
        const k = [...text].map((c, j) => (c === '-' ? -1 : j)).filter((j) => j >= 0)[i % text.replace(/-/g, '').length]!;
        const c = text[k] === 'a' ? 'b' : 'a';
        return { kind: 'bad-principal', path, value: text.slice(0, k) + c + text.slice(k + 1) };
      }),
      pp.filter((path) => /[a-z]/.test(resolvePointer(args, pointerOf(path)).value as string)).map((path): Mutation => ({ kind: 'upper-principal', path })),
    );
  }
  // 32-byte blobs: Some(subaccount) fields
  const blobPaths: string[][] = [];
  for (const f of present) {
    const val = args[f] as { tag?: string; value?: unknown; subaccount?: { tag: string } };
    if ((f === 'from_subaccount' || f === 'subaccount') && val?.tag === 'Some') blobPaths.push([f, 'value']);
    if (fields[f]!.kind === 'account' && val?.subaccount?.tag === 'Some') blobPaths.push([f, 'subaccount', 'value']);
  }
  if (blobPaths.length)
    opts.push(
      fc.tuple(fc.constantFrom(...blobPaths), fc.constantFrom(0, 31, 33, 64)).map(([path, len]): Mutation => ({ kind: 'blob32-length', path, value: '00'.repeat(len) })),
    );
  return fc.oneof(...opts);
};

const apply = (args: Record<string, Json>, m: Mutation): Json => {
  switch (m.kind) {
    case 'wrong-type':
    case 'u64-range':
      return { ...args, [m.field]: m.value };
    case 'missing':
      return deleteAt(args, [m.field]);
    case 'extra':
      return { ...args, [m.field]: { '#bigint': '1' } };
    case 'bad-principal':
    case 'blob32-length':
      return updateAt(args, m.path, () => m.value);
    case 'upper-principal':
      return updateAt(args, m.path, (s) => (s as string).toUpperCase());
  }
};

describe('schema and codec agree on the ledger vocabulary', () => {
  const tags = Object.keys(LEDGER_ACTIONS);

  it('[TRC-VOCAB.1] the schema describes exactly the machine’s init action and rules', () => {
    const defs = (ledgerSchema as unknown as { $defs: { actions: Record<string, unknown> } }).$defs.actions;
    expect(Object.keys(defs).sort()).toEqual([ledgerMachine.initAction, ...Object.keys(ledgerMachine.actions)].sort());
    expect(tags.sort()).toEqual(Object.keys(defs).filter((t) => t !== 'TotalSupply').sort());
  });

  for (const tag of tags) {
    it(`[TRC-ITF-SCHEMA.1] [TRC-VOCAB.1] [TRC-RANGE.1] ${tag}: valid arguments pass both the schema and the io-ts codec`, () => {
      const validate = schemaOf(tag);
      fc.assert(
        fc.property(LEDGER_ACTIONS[tag]!.arb, (args) => {
          expect(validate(args), JSON.stringify(validate.errors)).toBe(true);
          const d = decodeWith(codecOf(tag), fromJson(args));
          expect(d.ok, d.ok ? '' : `${d.pointer}: ${d.message}`).toBe(true);
        }),
        { numRuns: 150 },
      );
    });

    it(`[TRC-ITF-SCHEMA.1] [TRC-VOCAB.1] [TRC-RANGE.1] [TRC-ITF-OPTION.1] ${tag}: ill-typed arguments are rejected by both, or by the codec where the schema is deliberately looser`, () => {
      const validate = schemaOf(tag);
      const { fields } = LEDGER_ACTIONS[tag]!;
      const arbCase = LEDGER_ACTIONS[tag]!.arb.chain((args) => fc.record({ args: fc.constant(args), m: arbMutation(tag, args) }));
      fc.assert(
        fc.property(arbCase, ({ args, m }) => {
          const j = apply(args, m);
          const schemaOk = validate(j);
          const codecOk = codecAcceptsJson(tag, j);
          const what = `${tag} ${JSON.stringify(m)}`;
          switch (m.kind) {
            case 'u64-range':
            case 'bad-principal':
              // the schema checks shapes only: exact u64 range and principal checksums are the codec's
              expect(schemaOk, what).toBe(true);
              expect(codecOk, what).toBe(false);
              break;
            case 'missing':
              // the schema lists the fields a producer must write; the codec reads a missing Option as None
              expect(schemaOk, what).toBe(!fields[m.field]!.required);
              expect(codecOk, what).toBe(fields[m.field]!.opt);
              break;
            default:
              expect(schemaOk, what).toBe(false);
              expect(codecOk, what).toBe(false);
          }
        }),
        { numRuns: 300 },
      );
    });
  }

  it('[TRC-ITF-UNIT.1] [TRC-VOCAB.1] TotalSupply takes a unit in any spelling; schema and codec reject other values', () => {
    const validate = schemaOf('TotalSupply');
    for (const u of UNIT_SPELLINGS) {
      expect(validate(toJson(u))).toBe(true);
      expect(codecAcceptsJson('TotalSupply', toJson(u))).toBe(true);
    }
    for (const bad of [true, 'x', { '#bigint': '1' }, 3]) {
      expect(validate(bad), JSON.stringify(bad)).toBe(false);
      expect(codecAcceptsJson('TotalSupply', bad), JSON.stringify(bad)).toBe(false);
    }
  });
});

describe('the ITF value grammar: JSON Schema and fromJson agree', () => {
  const A = ((_Ajv2020Full as unknown as { default?: unknown }).default ?? _Ajv2020Full) as new (o: object) => { compile: (s: object) => (x: unknown) => boolean };
  const full = JSON.parse(readFileSync(new URL('../spec/schema/itf.schema.json', import.meta.url), 'utf8')) as { $defs: Record<string, unknown> };
  const validateValue = new A({ strict: false }).compile({ ...full, $ref: '#/$defs/value', required: [], properties: {}, additionalProperties: true, type: undefined });
  const accepts = (j: unknown): boolean => {
    try {
      fromJson(j);
      return true;
    } catch (e) {
      if (e instanceof ItfDecodeError) return false;
      throw e;
    }
  };
  /** Junk JSON with ITF-looking keys, to probe the rejections. */
  const arbJunk: fc.Arbitrary<unknown> = fc.letrec<{ j: unknown }>((tie) => ({
    j: fc.oneof(
      { depthSize: 'small' },
      fc.constantFrom<unknown>(null, 1.5, -3, 'x', true, { '#bigint': '12' }, { '#bigint': '1.2' }, { '#bigint': 7 }, { '#unserializable': 'Int' }, { '#foo': 1 }, {}),
      fc.array(tie('j'), { maxLength: 3 }),
      fc.record({ '#tup': fc.array(tie('j'), { maxLength: 2 }) }),
      fc.record({ '#set': fc.array(tie('j'), { maxLength: 2 }) }),
      fc.record({ '#map': fc.array(fc.oneof(fc.tuple(tie('j'), tie('j')), fc.array(tie('j'), { maxLength: 3 })), { maxLength: 2 }) }),
      fc.record({ tag: fc.constantFrom('A', 'Some'), value: tie('j') }),
      fc.dictionary(fc.constantFrom('a', 'b', '#tup', '#x'), tie('j'), { maxKeys: 2 }),
    ),
  })).j;

  it('[TRC-ITF-SCHEMA.1] [TRC-ITF-SEMANTIC.1] every value icspec writes passes both; on junk, fromJson accepts only what the schema accepts, and rejects beyond it only duplicates, unsafe integers and #unserializable', () => {
    fc.assert(
      fc.property(arbItf, (v) => {
        const j = toJson(v);
        fc.pre(accepts(j)); // generated sets/maps may contain equal elements
        expect(validateValue(j)).toBe(true);
      }),
    );
    fc.assert(
      fc.property(arbJunk, (j) => {
        const s = validateValue(j);
        const f = accepts(j);
        if (f) expect(s).toBe(true);
        if (s && !f) {
          let msg = '';
          try {
            fromJson(j);
          } catch (e) {
            msg = (e as Error).message;
          }
          expect(msg).toMatch(/duplicate|safe integer|unserializable/); // an unserializable value is well-formed ITF but not a value
        }
      }),
      { numRuns: 500 },
    );
  });
});
