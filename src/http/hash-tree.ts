/**
 * Hash trees ([HTTP-HASH-TREE.1]) and witnesses of a labeled state tree ([HTTP-WITNESS.1]): what
 * a certificate's `tree` is, how its root hash is computed, and how the part of the state a
 * request may see is revealed while the rest is pruned to its hash.
 */
import { sha256 } from '../core/hash.js';
import { compareBytes as compare, utf8 } from '../core/bytes.js';
import { domainSeparator } from './request-id.js';

/** A hash tree: the shape certificates carry. */
export type HashTree =
  | { readonly kind: 'empty' }
  | { readonly kind: 'fork'; readonly left: HashTree; readonly right: HashTree }
  | { readonly kind: 'labeled'; readonly label: Uint8Array; readonly tree: HashTree }
  | { readonly kind: 'leaf'; readonly value: Uint8Array }
  | { readonly kind: 'pruned'; readonly hash: Uint8Array };

/**
 * A labeled state tree: a leaf; labeled children in increasing label order (bytewise), joined by
 * balanced forks; or a large, changing set of labeled children kept in a `LabelMap`, joined by
 * the forks of its treap.
 */
export type StateTree =
  | { readonly kind: 'leaf'; readonly value: Uint8Array }
  | { readonly kind: 'node'; readonly children: readonly (readonly [Uint8Array, StateTree])[] }
  | { readonly kind: 'map'; readonly map: LabelMap };

/**
 * Labeled children in a persistent treap: ordered by label, with each node's priority a hash of
 * its label, so that the shape — and with it the forks of the hash tree and the root hash — is a
 * function of the set of children alone, however it was built ([HTTP-HASH-TREE.1]: the spec
 * leaves the fork structure free). Adding, changing or removing a child copies and rehashes
 * one path: O(log n) expected.
 */
export type LabelMap = TreapNode | undefined;
interface TreapNode {
  readonly label: Uint8Array;
  readonly tree: StateTree;
  readonly prio: number;
  readonly left: LabelMap;
  readonly right: LabelMap;
}

const EMPTY = domainSeparator('ic-hashtree-empty');
const FORK = domainSeparator('ic-hashtree-fork');
const LABELED = domainSeparator('ic-hashtree-labeled');
const LEAF = domainSeparator('ic-hashtree-leaf');

/** [HTTP-HASH-TREE.1] the root hash of a hash tree. */
export const reconstruct = (t: HashTree): Uint8Array => {
  switch (t.kind) {
    case 'empty':
      return sha256(EMPTY);
    case 'fork':
      return sha256(FORK, reconstruct(t.left), reconstruct(t.right));
    case 'labeled':
      return sha256(LABELED, t.label, reconstruct(t.tree));
    case 'leaf':
      return sha256(LEAF, t.value);
    case 'pruned':
      return t.hash;
  }
};

/** [HTTP-HASH-TREE.1] the tree's CBOR form: `[0]`, `[1, l, r]`, `[2, label, t]`, `[3, value]`, `[4, hash]`. */
export const treeToCbor = (t: HashTree): unknown[] => {
  switch (t.kind) {
    case 'empty':
      return [0];
    case 'fork':
      return [1, treeToCbor(t.left), treeToCbor(t.right)];
    case 'labeled':
      return [2, t.label, treeToCbor(t.tree)];
    case 'leaf':
      return [3, t.value];
    case 'pruned':
      return [4, t.hash];
  }
};

/** Labeled subtrees joined by forks, left to right, balanced. */
const forks = (ts: readonly HashTree[]): HashTree => {
  if (ts.length === 0) return { kind: 'empty' };
  if (ts.length === 1) return ts[0]!;
  const mid = Math.ceil(ts.length / 2);
  return { kind: 'fork', left: forks(ts.slice(0, mid)), right: forks(ts.slice(mid)) };
};

/** [HTTP-HASH-TREE.1] the whole state tree as a hash tree (nothing pruned). */
export const fullTree = (s: StateTree): HashTree =>
  s.kind === 'leaf'
    ? { kind: 'leaf', value: s.value }
    : s.kind === 'map'
      ? s.map === undefined
        ? { kind: 'empty' }
        : treapFull(s.map)
      : forks(s.children.map(([label, t]) => ({ kind: 'labeled', label, tree: fullTree(t) }) as HashTree));

/**
 * [HTTP-HASH-TREE.1] the root hash of a state (sub)tree, as `reconstruct(fullTree(s))` gives it,
 * remembered per node; and the hash of the forks over children [a, b) of a node, remembered per
 * node and range (the ranges a witness prunes are those of the balanced fork shape, so after the
 * first witness of a tree the next ones cost O(paths · log n)).
 */
export const stateHash = (s: StateTree): Uint8Array => {
  const known = NODE_HASH.get(s);
  if (known !== undefined) return known;
  const h =
    s.kind === 'leaf' ? sha256(LEAF, s.value) : s.kind === 'map' ? (s.map === undefined ? sha256(EMPTY) : treapHash(s.map)) : s.children.length === 0 ? sha256(EMPTY) : rangeHash(s, 0, s.children.length);
  NODE_HASH.set(s, h);
  return h;
};
const NODE_HASH = new WeakMap<StateTree, Uint8Array>();
const RANGE_HASH = new WeakMap<StateTree, Map<number, Uint8Array>>();

const rangeHash = (s: Extract<StateTree, { kind: 'node' }>, a: number, b: number): Uint8Array => {
  let m = RANGE_HASH.get(s);
  if (m === undefined) RANGE_HASH.set(s, (m = new Map()));
  const key = a * 0x100000000 + b;
  const known = m.get(key);
  if (known !== undefined) return known;
  let h: Uint8Array;
  if (b - a === 1) h = sha256(LABELED, s.children[a]![0], stateHash(s.children[a]![1]));
  else {
    const mid = a + Math.ceil((b - a) / 2);
    h = sha256(FORK, rangeHash(s, a, mid), rangeHash(s, mid, b));
  }
  m.set(key, h);
  return h;
};

/**
 * The forks of a treap node: its left subtree, its own labeled child, its right subtree, in
 * order, as `fork(left, fork(child, right))` with absent sides left out.
 */
const treapShape = <T>(n: TreapNode, left: T | undefined, self: T, right: T | undefined, fork: (a: T, b: T) => T): T => {
  const tail = right === undefined ? self : fork(self, right);
  return left === undefined ? tail : fork(left, tail);
};
const TREAP_HASH = new WeakMap<TreapNode, Uint8Array>();
const treapHash = (n: TreapNode): Uint8Array => {
  const known = TREAP_HASH.get(n);
  if (known !== undefined) return known;
  const self = sha256(LABELED, n.label, stateHash(n.tree));
  const h = treapShape(n, n.left && treapHash(n.left), self, n.right && treapHash(n.right), (a, b) => sha256(FORK, a, b));
  TREAP_HASH.set(n, h);
  return h;
};
const treapFull = (n: TreapNode): HashTree =>
  treapShape<HashTree>(n, n.left && treapFull(n.left), { kind: 'labeled', label: n.label, tree: fullTree(n.tree) }, n.right && treapFull(n.right), (left, right) => ({ kind: 'fork', left, right }));

/**
 * [HTTP-WITNESS.1] the witness of a treap: every node on the way to a path's label shows its own
 * label (so an absent label's neighbours, which lie on that way, prove its absence); the subtrees
 * no path enters are pruned.
 */
const treapWitness = (n: TreapNode, paths: readonly Path[]): HashTree => {
  const lt: Path[] = [];
  const eq: Path[] = [];
  const gt: Path[] = [];
  for (const p of paths) {
    const c = compare(p[0]!, n.label);
    (c < 0 ? lt : c === 0 ? eq : gt).push(c === 0 ? p.slice(1) : p);
  }
  const side = (x: LabelMap, ps: Path[]): HashTree | undefined => (x === undefined ? undefined : ps.length > 0 ? treapWitness(x, ps) : { kind: 'pruned', hash: treapHash(x) });
  return treapShape<HashTree>(n, side(n.left, lt), { kind: 'labeled', label: n.label, tree: eq.length > 0 ? witness(n.tree, eq) : pruned(n.tree) }, side(n.right, gt), (left, right) => ({ kind: 'fork', left, right }));
};

/** The hash of a state subtree, as a pruned node. */
const pruned = (s: StateTree): HashTree => ({ kind: 'pruned', hash: stateHash(s) });

/** A path through the state tree: its labels; an empty path is the whole subtree. */
export type Path = readonly Uint8Array[];

/**
 * [HTTP-WITNESS.1] a witness of the state tree that reveals every requested path: the subtree at
 * the end of each path whole, and on the way the labels of the children it passes; where a
 * label is absent, the labels around where it would be (so that its absence is proved). All
 * else is pruned to its hash, so the witness has the state tree's root hash.
 */
export const witness = (s: StateTree, paths: readonly Path[]): HashTree => {
  if (paths.some((p) => p.length === 0)) return fullTree(s);
  if (s.kind === 'leaf' || paths.length === 0) return pruned(s);
  if (s.kind === 'map') return s.map === undefined ? { kind: 'empty' } : treapWitness(s.map, paths);
  const kids = s.children;
  // which children a path goes through, and which must show their label to prove an absence
  const through = new Map<number, Path[]>();
  const shown = new Set<number>();
  for (const p of paths) {
    const label = p[0]!;
    let lo = 0;
    let hi = kids.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compare(kids[mid]![0], label) < 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo < kids.length && compare(kids[lo]![0], label) === 0) {
      const l = through.get(lo) ?? [];
      l.push(p.slice(1));
      through.set(lo, l);
    } else {
      if (lo > 0) shown.add(lo - 1);
      if (lo < kids.length) shown.add(lo);
    }
  }
  // children that reveal nothing are pruned together, keeping the forks' shape (and so the root hash)
  const marked = [...new Set([...through.keys(), ...shown])].sort((x, y) => x - y);
  /** whether a revealed child lies in [a, b) (the first marked index at or after a, by bisection) */
  const touches = (a: number, b: number): boolean => {
    let lo = 0;
    let hi = marked.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (marked[mid]! < a) lo = mid + 1;
      else hi = mid;
    }
    return lo < marked.length && marked[lo]! < b;
  };
  const go = (a: number, b: number): HashTree => {
    if (!touches(a, b)) return { kind: 'pruned', hash: rangeHash(s, a, b) };
    if (b - a === 1) {
      const [label, t] = kids[a]!;
      const ps = through.get(a);
      return { kind: 'labeled', label, tree: ps !== undefined ? witness(t, ps) : pruned(t) };
    }
    const mid = a + Math.ceil((b - a) / 2);
    return { kind: 'fork', left: go(a, mid), right: go(mid, b) };
  };
  return kids.length === 0 ? { kind: 'empty' } : go(0, kids.length);
};

/** A state tree node from labeled children in any order (sorted here). */
export const node = (children: readonly (readonly [Uint8Array | string, StateTree])[]): StateTree => ({
  kind: 'node',
  children: children.map(([l, t]) => [typeof l === 'string' ? utf8(l) : l, t] as const).sort((a, b) => compare(a[0], b[0])),
});

/** A state tree leaf. */
export const leaf = (value: Uint8Array | string): StateTree => ({ kind: 'leaf', value: typeof value === 'string' ? utf8(value) : value });

/** A treap priority: FNV-1a over the label (deterministic; ties broken by label order). */
const priority = (label: Uint8Array): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label[i]!, 0x01000193);
  return h >>> 0;
};
/** Whether node a sits above node b in the treap. */
const above = (a: { readonly prio: number; readonly label: Uint8Array }, b: TreapNode): boolean => a.prio > b.prio || (a.prio === b.prio && compare(a.label, b.label) < 0);

const mk = (label: Uint8Array, tree: StateTree, prio: number, left: LabelMap, right: LabelMap): TreapNode => ({ label, tree, prio, left, right });

/** The children of `t` below `label` and above it (the child at `label` itself dropped). */
const split = (t: LabelMap, label: Uint8Array): readonly [LabelMap, LabelMap] => {
  if (t === undefined) return [undefined, undefined];
  const c = compare(t.label, label);
  if (c === 0) return [t.left, t.right];
  if (c < 0) {
    const [l, r] = split(t.right, label);
    return [mk(t.label, t.tree, t.prio, t.left, l), r];
  }
  const [l, r] = split(t.left, label);
  return [l, mk(t.label, t.tree, t.prio, r, t.right)];
};

/** Two treaps joined, every label of `a` below every label of `b`. */
const join = (a: LabelMap, b: LabelMap): LabelMap => {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return above(a, b) ? mk(a.label, a.tree, a.prio, a.left, join(a.right, b)) : mk(b.label, b.tree, b.prio, join(a, b.left), b.right);
};

/** The map with the child at `label` set to `tree` (added or replaced). */
export const mapSet = (t: LabelMap, label: Uint8Array, tree: StateTree): LabelMap => {
  const n = { label, prio: priority(label) };
  const go = (x: LabelMap): TreapNode => {
    if (x === undefined) return mk(label, tree, n.prio, undefined, undefined);
    const c = compare(label, x.label);
    if (c === 0) return mk(label, tree, x.prio, x.left, x.right);
    if (above(n, x)) {
      const [l, r] = split(x, label);
      return mk(label, tree, n.prio, l, r);
    }
    return c < 0 ? mk(x.label, x.tree, x.prio, go(x.left), x.right) : mk(x.label, x.tree, x.prio, x.left, go(x.right));
  };
  return go(t);
};

/** The map without the child at `label`. */
export const mapDelete = (t: LabelMap, label: Uint8Array): LabelMap => {
  if (t === undefined) return undefined;
  const c = compare(label, t.label);
  if (c === 0) return join(t.left, t.right);
  if (c < 0) {
    const l = mapDelete(t.left, label);
    return l === t.left ? t : mk(t.label, t.tree, t.prio, l, t.right);
  }
  const r = mapDelete(t.right, label);
  return r === t.right ? t : mk(t.label, t.tree, t.prio, t.left, r);
};

/** The child at `label`, if any. */
export const mapGet = (t: LabelMap, label: Uint8Array): StateTree | undefined => {
  while (t !== undefined) {
    const c = compare(label, t.label);
    if (c === 0) return t.tree;
    t = c < 0 ? t.left : t.right;
  }
  return undefined;
};

/** A state tree node over a label map. */
export const mapNode = (map: LabelMap): StateTree => ({ kind: 'map', map });

/**
 * [HTTP-HASH-TREE.1] the value at a path of a hash tree: found; absent, when the labels around
 * where it would be are revealed with nothing pruned between them; or unknown.
 */
export const lookup = (t: HashTree, path: Path): { readonly found: Uint8Array } | 'absent' | 'unknown' => {
  if (path.length === 0) return t.kind === 'leaf' ? { found: t.value } : t.kind === 'pruned' ? 'unknown' : 'absent';
  // the node's children in order: labeled subtrees and pruned gaps
  const items: (Extract<HashTree, { kind: 'labeled' }> | 'gap')[] = [];
  const flatten = (x: HashTree): void => {
    if (x.kind === 'fork') (flatten(x.left), flatten(x.right));
    else if (x.kind === 'labeled') items.push(x);
    else if (x.kind === 'pruned') items.push('gap');
  };
  flatten(t);
  const label = path[0]!;
  // the first item at or after where the label belongs (a gap may hide anything)
  let i = 0;
  while (i < items.length && (items[i] === 'gap' || compare((items[i] as { label: Uint8Array }).label, label) < 0)) i++;
  const at = items[i];
  if (at !== undefined && at !== 'gap' && compare(at.label, label) === 0) return lookup(at.tree, path.slice(1));
  // absent only if no gap lies between the revealed neighbours
  let j = i - 1;
  while (j >= 0 && items[j] !== 'gap' && compare((items[j] as { label: Uint8Array }).label, label) > 0) j--;
  return j >= 0 && items[j] === 'gap' ? 'unknown' : 'absent';
};
