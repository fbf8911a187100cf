/**
 * PVec: a persistent vector (append, index, length) behind a narrow API.
 * Backed by Immutable.js List (a 32-way trie with a tail: O(1) amortized append).
 */
import { List } from 'immutable';

export class PVec<T> {
  private constructor(private readonly list: List<T>) {}
  static empty<T>(): PVec<T> {
    return new PVec<T>(List<T>());
  }
  static from<T>(xs: Iterable<T>): PVec<T> {
    return new PVec<T>(List<T>(xs));
  }
  get length(): number {
    return this.list.size;
  }
  get(i: number): T | undefined {
    return i < 0 || i >= this.list.size ? undefined : this.list.get(i);
  }
  last(): T | undefined {
    return this.list.last();
  }
  push(x: T): PVec<T> {
    return new PVec<T>(this.list.push(x));
  }
  toArray(): T[] {
    return this.list.toArray();
  }
}
