/**
 * IntIndexTable: a mutable map from 32-bit integers to non-negative 31-bit integers in one flat
 * Int32Array (open addressing, linear probing; a slot is [key, value], and the value −1 marks an
 * empty slot, −2 a deleted one). It is the shared store behind the ledger's persistent
 * deduplication index (`PMap.over`): transaction digest → block index.
 *
 * Why: at a million blocks a native Map costs several cache misses per probe; here a probe reads
 * one 8-byte slot. Any other key (not an int32) or value (an array of indices, on a digest
 * collision, or any other value) is kept, exactly, in a native map beside the table. Entries are
 * listed in no particular order (nothing observes the index's order).
 */

const EMPTY = -1;
const DELETED = -2;
const MIN_CAPACITY = 16;

type Value = number | readonly number[];

const isInt32 = (k: number): boolean => (k | 0) === k;
/** a value the table holds: 0..2^31 − 1 (not −0, which a Map keeps as itself) */
const isIndex = (v: Value): v is number => typeof v === 'number' && (v | 0) === v && v >= 0 && !Object.is(v, -0);

export class IntIndexTable {
  private cap = 0;
  private slots = new Int32Array(0);
  private live = 0;
  private deleted = 0;
  private readonly other = new Map<number, Value>();

  constructor() {
    this.alloc(MIN_CAPACITY);
  }

  private alloc(cap: number): void {
    this.cap = cap;
    this.slots = new Int32Array(cap * 2);
    for (let j = 0; j < cap; j++) this.slots[2 * j + 1] = EMPTY;
    this.deleted = 0;
  }

  /** The slot holding k, or −1 − (the slot where it would go). */
  private find(k: number): number {
    const slots = this.slots;
    const mask = this.cap - 1;
    let j = (Math.imul(k, 0x9e3779b1) >>> 0) & mask;
    let free = -1;
    for (;;) {
      const v = slots[2 * j + 1]!;
      if (v === EMPTY) return -1 - (free >= 0 ? free : j);
      if (v === DELETED) {
        if (free < 0) free = j;
      } else if (slots[2 * j] === k) return j;
      j = (j + 1) & mask;
    }
  }

  get size(): number {
    return this.live + this.other.size;
  }

  get(k: number): Value | undefined {
    if (this.other.size > 0 && this.other.has(k)) return this.other.get(k);
    if (!isInt32(k)) return undefined;
    const j = this.find(k);
    return j >= 0 ? this.slots[2 * j + 1] : undefined;
  }

  has(k: number): boolean {
    return this.get(k) !== undefined;
  }

  set(k: number, v: Value): this {
    if (!isInt32(k) || !isIndex(v)) {
      this.remove(k);
      this.other.set(k, v);
      return this;
    }
    if (this.other.size > 0) this.other.delete(k);
    let j = this.find(k);
    if (j < 0) {
      // rebuilt once used and deleted slots pass 60 %, into a table at most half full
      if ((this.live + this.deleted + 1) * 5 > this.cap * 3) {
        this.rehash(this.live + 1);
        j = this.find(k);
      }
      j = -1 - j;
      if (this.slots[2 * j + 1] === DELETED) this.deleted--;
      this.slots[2 * j] = k;
      this.live++;
    }
    this.slots[2 * j + 1] = v;
    return this;
  }

  delete(k: number): boolean {
    if (this.other.size > 0 && this.other.delete(k)) return true;
    return this.remove(k);
  }

  private remove(k: number): boolean {
    if (!isInt32(k)) return false;
    const j = this.find(k);
    if (j < 0) return false;
    this.slots[2 * j + 1] = DELETED;
    this.live--;
    this.deleted++;
    return true;
  }

  private rehash(need: number): void {
    let cap = MIN_CAPACITY;
    while (cap < need * 2) cap *= 2;
    const old = this.slots;
    this.alloc(cap);
    for (let i = 0; i < old.length; i += 2) {
      const v = old[i + 1]!;
      if (v < 0) continue;
      const j = -1 - this.find(old[i]!);
      this.slots[2 * j] = old[i]!;
      this.slots[2 * j + 1] = v;
    }
  }

  *entries(): IterableIterator<[number, Value]> {
    for (let j = 0; j < this.cap; j++) {
      const v = this.slots[2 * j + 1]!;
      if (v >= 0) yield [this.slots[2 * j]!, v];
    }
    yield* this.other.entries();
  }
}
