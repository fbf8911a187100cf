import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HexU64Table } from '../src/core/hex-u64-table.js';
import { IntIndexTable } from '../src/core/int-index-table.js';
import { PMap } from '../src/core/pmap.js';

/** Operations on earlier versions (a negative version: the newest): PMap must behave as if every version were an independent copy. */
type Op<K, V> = { kind: 'set'; v: number; k: K; x: V } | { kind: 'del'; v: number; k: K } | { kind: 'read'; v: number; k: K };
const opOf = <K, V>(version: fc.Arbitrary<number>, key: fc.Arbitrary<K>, value: fc.Arbitrary<V>, setWeight = 1): fc.Arbitrary<Op<K, V>> =>
  fc.oneof(
    { arbitrary: fc.record({ kind: fc.constant('set' as const), v: version, k: key, x: value }), weight: setWeight },
    { arbitrary: fc.record({ kind: fc.constant('del' as const), v: version, k: key }), weight: 1 },
    { arbitrary: fc.record({ kind: fc.constant('read' as const), v: version, k: key }), weight: 1 },
  );
const arbOp = opOf(fc.nat(), fc.nat({ max: 20 }), fc.integer());
/** mostly the newest version (so that a table grows and is rebuilt), else any */
const mostlyNewest = fc.oneof({ arbitrary: fc.constant(-1), weight: 3 }, { arbitrary: fc.nat(), weight: 1 });

/**
 * Apply `ops` to versions grown from `first` and to independent `Map` models: every read agrees
 * with the model, and at the end every version's entries are its model's. Given `sameOrder` (an
 * empty PMap over another store), the same versions grown from it list their entries in the same order.
 */
const checkAgainstModels = <K, V>(first: PMap<K, V>, ops: readonly Op<K, V>[], sameOrder?: PMap<K, V>): void => {
  const versions: PMap<K, V>[] = [first];
  const others: PMap<K, V>[] = sameOrder ? [sameOrder] : [];
  const models: Map<K, V>[] = [new Map()];
  for (const o of ops) {
    const i = o.v < 0 ? versions.length - 1 : o.v % versions.length;
    const pm = versions[i]!;
    const m = models[i]!;
    if (o.kind === 'read') {
      expect(pm.get(o.k)).toEqual(m.get(o.k));
      expect(pm.has(o.k)).toBe(m.has(o.k));
      expect(pm.size).toBe(m.size);
    } else {
      const next = new Map(m);
      if (o.kind === 'set') next.set(o.k, o.x);
      else next.delete(o.k);
      versions.push(o.kind === 'set' ? pm.set(o.k, o.x) : pm.delete(o.k));
      if (sameOrder) others.push(o.kind === 'set' ? others[i]!.set(o.k, o.x) : others[i]!.delete(o.k));
      models.push(next);
    }
  }
  versions.forEach((pm, i) => {
    expect(new Map(pm.entries())).toEqual(models[i]);
    if (sameOrder) expect(pm.entries()).toEqual(others[i]!.entries());
  });
};

describe('PMap (persistent map behind the state API)', () => {
  it('every version reads as an independent immutable copy, whatever order versions are touched in', () => {
    fc.assert(
      fc.property(fc.array(arbOp, { maxLength: 200 }), (ops) => checkAgainstModels(PMap.empty<number, number>(), ops)),
      { numRuns: 300 },
    );
  });

  it('changedSince names every key whose value differs between two versions (and costs only the steps between them)', () => {
    fc.assert(
      fc.property(fc.array(arbOp, { maxLength: 200 }), fc.nat(), fc.nat(), (ops, a, b) => {
        const versions: PMap<number, number>[] = [PMap.empty()];
        for (const op of ops) {
          const pm = versions[op.v % versions.length]!;
          if (op.kind === 'set') versions.push(pm.set(op.k, op.x));
          else if (op.kind === 'del') versions.push(pm.delete(op.k));
          else pm.get(op.k);
        }
        const x = versions[a % versions.length]!;
        const y = versions[b % versions.length]!;
        const keys = new Set(y.changedSince(x, 1000));
        const mx = new Map(x.entries());
        const my = new Map(y.entries());
        for (const k of new Set([...mx.keys(), ...my.keys()])) if (mx.get(k) !== my.get(k)) expect(keys.has(k)).toBe(true);
        if (keys.size > 0) expect(y.changedSince(x, 0)).toBeUndefined();
        // versions of two different maps are not compared
        expect(y.changedSince(PMap.empty<number, number>().set(1, 1), 1000)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it('a PMap over a HexU64Table means what a PMap over a native Map means (any key, any bigint, deletions, growth)', () => {
    // keys: a few 64-hex identifiers (lowercase, as the ledger writes them) and some the table
    // cannot hold (uppercase, short); values: u64 and beyond
    const hexKey = fc.nat({ max: 200 }).map((i) => (i * 2654435761 >>> 0).toString(16).padStart(8, '0').repeat(7) + i.toString(16).padStart(8, '0'));
    const key = fc.oneof({ arbitrary: hexKey, weight: 8 }, { arbitrary: hexKey.map((k) => k.toUpperCase()), weight: 1 }, { arbitrary: fc.constantFrom('', 'ab', 'zz'.repeat(32)), weight: 1 });
    const value = fc.oneof({ arbitrary: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), weight: 8 }, { arbitrary: fc.bigInt({ min: -5n, max: 1n << 70n }), weight: 1 });
    fc.assert(
      // the same versions over a native Map: the entries must come in the same order
      fc.property(fc.array(opOf(mostlyNewest, key, value, 3), { minLength: 50, maxLength: 400 }), (ops) => checkAgainstModels(PMap.over(new HexU64Table()), ops, PMap.empty())),
      { numRuns: 300 },
    );
  });

  it('a PMap over an IntIndexTable means what a PMap over a native Map means (any key, any value, deletions, growth)', () => {
    const key = fc.oneof({ arbitrary: fc.integer({ min: -3, max: 300 }), weight: 6 }, { arbitrary: fc.integer(), weight: 2 }, { arbitrary: fc.constantFrom(0.5, -0, 2 ** 40, Number.NaN), weight: 1 });
    const value = fc.oneof(
      { arbitrary: fc.nat(), weight: 6 },
      { arbitrary: fc.array(fc.nat({ max: 9 }), { maxLength: 3 }), weight: 2 },
      { arbitrary: fc.constantFrom(-1, -2, -0, 0.5, 2 ** 31, 2 ** 31 - 1), weight: 1 },
    );
    fc.assert(
      fc.property(fc.array(opOf<number, number | readonly number[]>(mostlyNewest, key, value, 3), { minLength: 50, maxLength: 400 }), (ops) =>
        checkAgainstModels(PMap.over<number, number | readonly number[]>(new IntIndexTable()), ops),
      ),
      { numRuns: 300 },
    );
  });
});
