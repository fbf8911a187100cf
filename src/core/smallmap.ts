/**
 * SmallMap: an immutable map for a handful of entries (the blocks of one height), kept as an
 * array of pairs. `set` copies the array: cheaper than copying a native Map for the 1–3
 * entries it holds, and it allocates one array, not a hash table.
 */
export class SmallMap<K, V> {
  private constructor(private readonly ks: readonly K[], private readonly vs: readonly V[]) {}
  static empty<K, V>(): SmallMap<K, V> {
    return new SmallMap<K, V>([], []);
  }
  static of<K, V>(k: K, v: V): SmallMap<K, V> {
    return new SmallMap<K, V>([k], [v]);
  }
  get size(): number {
    return this.ks.length;
  }
  get(k: K): V | undefined {
    const i = this.ks.indexOf(k);
    return i < 0 ? undefined : this.vs[i];
  }
  has(k: K): boolean {
    return this.ks.indexOf(k) >= 0;
  }
  set(k: K, v: V): SmallMap<K, V> {
    const i = this.ks.indexOf(k);
    if (i < 0) return new SmallMap<K, V>([...this.ks, k], [...this.vs, v]);
    const vs = this.vs.slice();
    vs[i] = v;
    return new SmallMap<K, V>(this.ks, vs);
  }
  keys(): readonly K[] {
    return this.ks;
  }
  entries(): Array<[K, V]> {
    return this.ks.map((k, i) => [k, this.vs[i]!]);
  }
}
