/**
 * ITF values (Apalache ADR-015) in memory, and their canonical comparison.
 * In memory an ITF value mirrors its JSON form, except that integers are bigint:
 *   bigint | boolean | string | ItfValue[] (list) | {"#tup": [...]} | {"#set": [...]}
 *   | {"#map": [[k, v], ...]} | record {f: v} | variant {tag, value}.
 * See spec/trace.md.
 */
export type ItfValue =
  | bigint
  | boolean
  | string
  | readonly ItfValue[]
  | { readonly '#tup': readonly ItfValue[] }
  | { readonly '#set': readonly ItfValue[] }
  | { readonly '#map': ReadonlyArray<readonly [ItfValue, ItfValue]> }
  | { readonly [field: string]: ItfValue };

export const UNIT: ItfValue = { '#tup': [] };
export const tup = (...xs: ItfValue[]): ItfValue => ({ '#tup': xs });
export const set = (xs: readonly ItfValue[]): ItfValue => ({ '#set': xs });
export const map = (entries: ReadonlyArray<readonly [ItfValue, ItfValue]>): ItfValue => ({ '#map': entries });
export const variant = (tag: string, value: ItfValue = UNIT): ItfValue => ({ tag, value });
export const some = (v: ItfValue): ItfValue => variant('Some', v);
export const NONE: ItfValue = variant('None');
export const option = <T>(x: T | undefined, f: (x: T) => ItfValue): ItfValue => (x === undefined ? NONE : some(f(x)));

/** A path inside a value: field names, list indices, or map keys (rendered). */
export type PathSeg = { readonly k: 'field'; readonly name: string } | { readonly k: 'index'; readonly i: number; readonly ptr: string } | { readonly k: 'key'; readonly key: string; readonly ptr?: string };

export class ItfDecodeError extends Error {
  constructor(readonly pointer: string, message: string) {
    super(message);
  }
}

/** Escape one JSON-pointer segment (RFC 6901). */
export const escPtr = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');

/** [TRC-ITF-SEMANTIC.1] set elements and map keys are distinct (by canonical value). */
const distinct = <T>(xs: readonly T[], key: (x: T) => ItfValue, ptr: string, what: string): void => {
  const seen = new Map<string, number>();
  xs.forEach((x, i) => {
    const c = canon(key(x));
    const j = seen.get(c);
    if (j !== undefined) throw new ItfDecodeError(`${ptr}/${i}`, `duplicate ${what} (same as entry ${j})`);
    seen.set(c, i);
  });
};

/**
 * JSON → ItfValue. `{"#bigint": "n"}` → bigint; legacy JSON integers are accepted
 * ([TRC-ITF-INT.1]); non-integer numbers, `#unserializable` and unknown `#` keys are errors.
 */
export const fromJson = (j: unknown, ptr = ''): ItfValue => {
  if (typeof j === 'boolean' || typeof j === 'string') return j;
  if (typeof j === 'number') {
    if (!Number.isSafeInteger(j)) throw new ItfDecodeError(ptr, `number ${j} is not a safe integer (use {"#bigint": "..."})`);
    return BigInt(j);
  }
  if (Array.isArray(j)) return j.map((x, i) => fromJson(x, `${ptr}/${i}`));
  if (j === null || typeof j !== 'object') throw new ItfDecodeError(ptr, `not an ITF value: ${JSON.stringify(j)}`);
  const o = j as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1 && keys[0]!.startsWith('#')) {
    const k = keys[0]!;
    const v = o[k];
    switch (k) {
      case '#bigint':
        if (typeof v !== 'string' || !/^-?[0-9]+$/.test(v)) throw new ItfDecodeError(`${ptr}/#bigint`, 'not a decimal integer string');
        return BigInt(v);
      case '#tup':
      case '#set': {
        if (!Array.isArray(v)) throw new ItfDecodeError(`${ptr}/${k}`, 'not an array');
        const xs = v.map((x, i) => fromJson(x, `${ptr}/${k}/${i}`));
        if (k === '#set') distinct(xs, (x) => x, `${ptr}/#set`, 'set element');
        return { [k]: xs } as ItfValue;
      }
      case '#map':
        if (!Array.isArray(v)) throw new ItfDecodeError(`${ptr}/#map`, 'not an array');
        const entries = v.map((e, i) => {
          if (!Array.isArray(e) || e.length !== 2) throw new ItfDecodeError(`${ptr}/#map/${i}`, 'a map entry must be a [key, value] pair');
          return [fromJson(e[0], `${ptr}/#map/${i}/0`), fromJson(e[1], `${ptr}/#map/${i}/1`)] as const;
        });
        distinct(entries, (e) => e[0], `${ptr}/#map`, 'map key');
        return { '#map': entries };
      case '#unserializable':
        throw new ItfDecodeError(ptr, `unserializable value (${String(v)})`);
      default:
        throw new ItfDecodeError(ptr, `unknown ITF key ${k}`);
    }
  }
  const out: Record<string, ItfValue> = {};
  for (const k of keys) {
    if (k.startsWith('#')) throw new ItfDecodeError(`${ptr}/${escPtr(k)}`, `record field names must not start with '#'`);
    out[k] = fromJson(o[k], `${ptr}/${escPtr(k)}`);
  }
  return out;
};

/** ItfValue → JSON (integers as {"#bigint"}), the only form icspec writes. */
export const toJson = (v: ItfValue): unknown => {
  if (typeof v === 'bigint') return { '#bigint': v.toString() };
  if (typeof v === 'boolean' || typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(toJson);
  const o = v as Record<string, ItfValue>;
  if ('#map' in o) return { '#map': (o['#map'] as unknown as Array<[ItfValue, ItfValue]>).map(([k, x]) => [toJson(k), toJson(x)]) };
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) out[k] = k === '#tup' || k === '#set' ? (o[k] as unknown as ItfValue[]).map(toJson) : toJson(o[k]!);
  return out;
};

type Kind = 'int' | 'bool' | 'str' | 'list' | 'tup' | 'set' | 'map' | 'variant' | 'record';
const kindOf = (v: ItfValue): Kind => {
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'string') return 'str';
  if (Array.isArray(v)) return 'list';
  const o = v as Record<string, unknown>;
  if ('#tup' in o) return 'tup';
  if ('#set' in o) return 'set';
  if ('#map' in o) return 'map';
  const ks = Object.keys(o);
  if (ks.length === 2 && 'tag' in o && 'value' in o && typeof o.tag === 'string') return 'variant';
  return 'record';
};

/** The four unit payloads producers write ([TRC-ITF-UNIT.1]). */
const isUnitLike = (v: ItfValue): boolean => {
  if (v === 'U_OF_UNIT') return true;
  if (typeof v !== 'object' || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  const ks = Object.keys(o);
  if (ks.length === 0) return true;
  if (ks.length === 1 && '#tup' in o && (o['#tup'] as unknown[]).length === 0) return true;
  if ('tag' in o && o.tag === 'UNIT' && ks.every((k) => k === 'tag' || k === 'value')) return true;
  return false;
};

/**
 * Canonical string of a value: sets and maps sorted, record fields sorted, unit payloads
 * unified ([TRC-CANON.1]). Two values are equal iff their canonical strings are equal.
 */
export const canon = (v: ItfValue): string => {
  switch (kindOf(v)) {
    case 'int':
      return `${(v as bigint).toString()}n`;
    case 'bool':
      return v ? 'T' : 'F';
    case 'str':
      return JSON.stringify(v);
    case 'list':
      return `[${(v as ItfValue[]).map(canon).join(',')}]`;
    case 'tup':
      return `(${((v as { '#tup': ItfValue[] })['#tup']).map(canon).join(',')})`;
    case 'set':
      return `#{${[...new Set(((v as { '#set': ItfValue[] })['#set']).map(canon))].sort().join(',')}}`;
    case 'map':
      return `#map{${((v as { '#map': Array<[ItfValue, ItfValue]> })['#map']).map(([k, x]) => `${canon(k)}:${canon(x)}`).sort().join(',')}}`;
    case 'variant': {
      const o = v as { tag: string; value: ItfValue };
      return `<${o.tag}|${isUnitLike(o.value) ? '()' : canon(o.value)}>`;
    }
    case 'record': {
      const o = v as Record<string, ItfValue>;
      return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canon(o[k]!)}`).join(',')}}`;
    }
  }
};

export const itfEqual = (a: ItfValue, b: ItfValue): boolean => canon(a) === canon(b);

/** Short human rendering of a value for reports. */
export const render = (v: ItfValue, max = 160): string => {
  const s = JSON.stringify(toJson(v));
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
};

export interface ValueDiff {
  /** Readable path, e.g. `balances["1c7a…"]`. */
  readonly path: string;
  /** JSON pointer into the expected value (relative), as far as it exists there. */
  readonly pointer: string;
  readonly expected: ItfValue | undefined;
  readonly actual: ItfValue | undefined;
}

/** First difference between expected and actual (canonical order), or undefined when equal. */
/** Exactly two own enumerable keys (a variant {tag, value}), without allocating a key array. */
const twoKeys = (o: object): boolean => {
  let n = 0;
  for (const k in o) if (Object.hasOwn(o, k) && ++n > 2) return false;
  return n === 2;
};

/** Equality without building canonical strings, for scalars and variants of scalars; undefined when it cannot tell. */
const quickEqual = (a: ItfValue, b: ItfValue): boolean | undefined => {
  const ta = typeof a;
  if (ta !== 'object') return ta === typeof b ? a === b : false;
  if (typeof b !== 'object') return false;
  const va = a as { tag?: unknown; value?: ItfValue };
  const vb = b as { tag?: unknown; value?: ItfValue };
  if (typeof va.tag === 'string' && typeof vb.tag === 'string' && twoKeys(va) && twoKeys(vb)) {
    if (va.tag !== vb.tag) return false;
    const x = va.value!;
    const y = vb.value!;
    // scalar payloads only ("U_OF_UNIT" is a unit spelling, equal to other units)
    return typeof x !== 'object' && typeof y !== 'object' && x !== 'U_OF_UNIT' && y !== 'U_OF_UNIT' ? x === y : undefined;
  }
  return undefined;
};

export const diff = (expected: ItfValue, actual: ItfValue, path = '', ptr = ''): ValueDiff | undefined => {
  const q = quickEqual(expected, actual);
  if (q === true || (q === undefined && canon(expected) === canon(actual))) return undefined;
  const ke = kindOf(expected);
  const ka = kindOf(actual);
  const here: ValueDiff = { path: path || '.', pointer: ptr, expected, actual };
  if (ke !== ka) return here;
  switch (ke) {
    case 'list':
    case 'tup': {
      const xe = ke === 'list' ? (expected as ItfValue[]) : (expected as { '#tup': ItfValue[] })['#tup'];
      const xa = ke === 'list' ? (actual as ItfValue[]) : (actual as { '#tup': ItfValue[] })['#tup'];
      const base = ke === 'list' ? ptr : `${ptr}/#tup`;
      for (let i = 0; i < Math.min(xe.length, xa.length); i++) {
        const d = diff(xe[i]!, xa[i]!, `${path}[${i}]`, `${base}/${i}`);
        if (d) return d;
      }
      return { path: `${path}.length`, pointer: ptr, expected: BigInt(xe.length), actual: BigInt(xa.length) };
    }
    case 'set': {
      const xe = (expected as { '#set': ItfValue[] })['#set'];
      const xa = (actual as { '#set': ItfValue[] })['#set'];
      const ca = new Set(xa.map(canon));
      for (let i = 0; i < xe.length; i++)
        if (!ca.has(canon(xe[i]!))) return { path: `${path}{${render(xe[i]!, 60)}}`, pointer: `${ptr}/#set/${i}`, expected: xe[i]!, actual: undefined };
      const ce = new Set(xe.map(canon));
      for (const x of xa) if (!ce.has(canon(x))) return { path: `${path}{${render(x, 60)}}`, pointer: ptr, expected: undefined, actual: x };
      return here;
    }
    case 'map': {
      const xe = (expected as { '#map': Array<[ItfValue, ItfValue]> })['#map'];
      const xa = (actual as { '#map': Array<[ItfValue, ItfValue]> })['#map'];
      const ma = new Map(xa.map(([k, v]) => [canon(k), v] as const));
      const keys = xe.map(([k], i) => ({ k, c: canon(k), i })).sort((a, b) => (a.c < b.c ? -1 : a.c > b.c ? 1 : 0));
      for (const { k, c, i } of keys) {
        const seg = `${path}[${render(k, 70)}]`;
        if (!ma.has(c)) return { path: seg, pointer: `${ptr}/#map/${i}`, expected: xe[i]![1], actual: undefined };
        const d = diff(xe[i]![1], ma.get(c)!, seg, `${ptr}/#map/${i}/1`);
        if (d) return d;
      }
      const ce = new Set(keys.map((x) => x.c));
      const extra = xa.map(([k, v]) => ({ k, v, c: canon(k) })).filter((x) => !ce.has(x.c)).sort((a, b) => (a.c < b.c ? -1 : 1))[0];
      if (extra) return { path: `${path}[${render(extra.k, 70)}]`, pointer: ptr, expected: undefined, actual: extra.v };
      return here;
    }
    case 'variant': {
      const e = expected as { tag: string; value: ItfValue };
      const a = actual as { tag: string; value: ItfValue };
      if (e.tag !== a.tag) return { path: `${path}.tag`, pointer: `${ptr}/tag`, expected: e.tag, actual: a.tag };
      return diff(e.value, a.value, `${path}.${e.tag}`, `${ptr}/value`) ?? here;
    }
    case 'record': {
      const e = expected as Record<string, ItfValue>;
      const a = actual as Record<string, ItfValue>;
      for (const k of [...new Set([...Object.keys(e), ...Object.keys(a)])].sort()) {
        const p = `${path}.${k}`;
        if (!(k in e)) return { path: p, pointer: ptr, expected: undefined, actual: a[k] };
        if (!(k in a)) return { path: p, pointer: `${ptr}/${escPtr(k)}`, expected: e[k], actual: undefined };
        const d = diff(e[k]!, a[k]!, p, `${ptr}/${escPtr(k)}`);
        if (d) return d;
      }
      return here;
    }
    default:
      return here;
  }
};
