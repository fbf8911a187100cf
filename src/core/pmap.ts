/**
 * PMap: a fully persistent map with O(1) expected access to the most recently
 * touched version ("rerooting", Baker 1978; Conchon & Filliâtre 2007, "A persistent
 * union-find data structure").
 *
 * All versions share ONE native Map. The version that owns it is the "root"; every
 * other version is a chain of single-key diffs leading to the root. Accessing an
 * older version re-roots the structure onto it (applying the diffs in reverse), so
 * every version stays valid and observably immutable: `set` returns a new version and
 * never changes what an older version reads. A step in a replay (always on the newest
 * version) costs one native Map operation plus one small diff object, whatever the
 * size of the map: no whole-map copy, no O(log n) tree path copy.
 *
 * Why not Immutable.js / a HAMT: measured on this project's 1M-account ledger workload,
 * Immutable.Map reached about 64k transfer steps/s (each set copies a 5-level path of
 * 32-wide nodes and misses cache); the target is 200k. See README "Persistent state".
 *
 * JavaScript is single-threaded, so re-rooting (an internal, semantically invisible
 * mutation) is safe. Do not interleave iteration of one version with access to another:
 * `entries()` returns a snapshot for that reason.
 */

/**
 * What a PMap keeps its entries in: a native Map by default, or a specialized store with the
 * same meaning (see `over`).
 */
export interface MapStore<K, V> {
  get(key: K): V | undefined;
  has(key: K): boolean;
  set(key: K, value: V): unknown;
  delete(key: K): boolean;
  readonly size: number;
  entries(): IterableIterator<[K, V]>;
}

/**
 * A version's cell. A root holds the shared map (`map` set, `next` null); a diff holds one
 * key's value in that version (`had`, `val`) and the next cell towards the root. One class
 * with every field, so that turning a root into a diff never changes the object's shape.
 */
class Cell<K, V> {
  constructor(
    public map: MapStore<K, V> | null,
    public key: K | undefined,
    public had: boolean,
    public val: V | undefined,
    public next: Cell<K, V> | null,
  ) {}
}

/** Turn `from` (the current root) into a diff towards `to`, which becomes the root. */
const hand = <K, V>(from: Cell<K, V>, to: Cell<K, V>, map: MapStore<K, V>, key: K, had: boolean, val: V | undefined): void => {
  from.map = null;
  from.key = key;
  from.had = had;
  from.val = val;
  from.next = to;
  to.map = map;
  to.key = undefined;
  to.val = undefined;
  to.next = null;
};

const reroot = <K, V>(cell: Cell<K, V>): MapStore<K, V> => {
  if (cell.map !== null) return cell.map;
  // Collect the path from `cell` to the root, then undo the diffs from the root back.
  const path: Cell<K, V>[] = [];
  let c: Cell<K, V> = cell;
  while (c.map === null) {
    path.push(c);
    c = c.next!;
  }
  const map = c.map;
  let root = c;
  for (let i = path.length - 1; i >= 0; i--) {
    const d = path[i]!;
    const key = d.key as K;
    const had = map.has(key);
    const val = map.get(key);
    if (d.had) map.set(key, d.val as V);
    else map.delete(key);
    hand(root, d, map, key, had, val);
    root = d;
  }
  return map;
};

export class PMap<K, V> {
  /**
   * The last key read from this version and what was found. A version never changes what it
   * maps, so this one-entry memo is always valid; it saves the second probe of the common
   * read-then-write (`set(k, f(get(k)))`) on large maps, where each probe is a cache miss.
   */
  private lastKey: K | undefined = undefined;
  private lastVal: V | undefined = undefined;
  private lastHas = false;

  /**
   * @param size this version's number of entries, kept per version so that reading it never
   * re-roots (comparing the sizes of two versions would otherwise move the shared map back and forth)
   */
  private constructor(
    private readonly cell: Cell<K, V>,
    readonly size: number,
  ) {}

  static empty<K, V>(): PMap<K, V> {
    return new PMap<K, V>(new Cell<K, V>(new Map(), undefined, false, undefined, null), 0);
  }

  /** An empty map kept in `store` (which must be empty, and is from then on the map's alone). */
  static over<K, V>(store: MapStore<K, V>): PMap<K, V> {
    return new PMap<K, V>(new Cell<K, V>(store, undefined, false, undefined, null), store.size);
  }

  /** A map of `entries`, kept in `map` (empty, and from then on the map's alone; a native Map unless given). */
  static from<K, V>(entries: Iterable<readonly [K, V]>, map: MapStore<K, V> = new Map<K, V>()): PMap<K, V> {
    for (const [k, v] of entries) map.set(k, v);
    return new PMap<K, V>(new Cell<K, V>(map, undefined, false, undefined, null), map.size);
  }

  get(key: K): V | undefined {
    if (this.lastHas && this.lastKey === key) return this.lastVal;
    const v = reroot(this.cell).get(key);
    if (v !== undefined) {
      this.lastKey = key;
      this.lastVal = v;
      this.lastHas = true;
    }
    return v;
  }

  has(key: K): boolean {
    if (this.lastHas && this.lastKey === key) return true;
    return reroot(this.cell).has(key);
  }

  /** Move the shared map onto this version now (a performance hint for timing; never observable). */
  reroot(): void {
    reroot(this.cell);
  }

  private update(key: K, present: boolean, value: V | undefined): PMap<K, V> {
    const map = reroot(this.cell);
    const hit = this.lastHas && this.lastKey === key;
    const old = hit ? this.lastVal : map.get(key);
    const had = hit || old !== undefined || map.has(key);
    if (present) map.set(key, value as V);
    else map.delete(key);
    const next = new Cell<K, V>(null, undefined, false, undefined, null);
    hand(this.cell, next, map, key, had, old);
    return new PMap<K, V>(next, this.size + (present ? (had ? 0 : 1) : had ? -1 : 0));
  }

  set(key: K, value: V): PMap<K, V> {
    return this.update(key, true, value);
  }

  delete(key: K): PMap<K, V> {
    if (!this.has(key)) return this;
    return this.update(key, false, undefined);
  }

  /**
   * The keys whose values may differ between this version and `older` (a superset: every key set
   * or deleted on the way from one to the other), or undefined when they are more than `limit`
   * steps apart or versions of different maps. Costs the number of steps between them, not the
   * size of the map.
   */
  changedSince(older: PMap<K, V>, limit: number): K[] | undefined {
    reroot(this.cell);
    const keys: K[] = [];
    let c = older.cell;
    for (; c.map === null; c = c.next!) {
      if (keys.length >= limit) return undefined;
      keys.push(c.key as K);
    }
    // a version of another map (its own root) is not comparable
    return c === this.cell ? keys : undefined;
  }

  /** A snapshot of the entries, in insertion order of the shared map (order carries no meaning). */
  entries(): Array<[K, V]> {
    return Array.from(reroot(this.cell).entries());
  }
}
