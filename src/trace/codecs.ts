/**
 * io-ts codecs from ITF values (see itf.ts) to typed rule arguments. Every boundary of
 * icspec decodes with these: ranges, blob lengths and principal canonicality are checked
 * here, so rules receive only well-typed arguments.
 */
import * as t from 'io-ts';
import { isRight } from 'fp-ts/lib/Either.js';
import { fromHex, toHex, type Bytes } from '../core/bytes.js';
import { U64_MAX } from '../core/num.js';
import { isPrincipalError, principalFromText, type Principal } from '../core/principal.js';
import type { ItfValue } from './itf.js';

const isBig = (u: unknown): u is bigint => typeof u === 'bigint';

/** [TRC-RANGE.1] natural numbers (candid nat) */
export const Nat = new t.Type<bigint, ItfValue, unknown>(
  'nat',
  isBig,
  (u, c) => (isBig(u) && u >= 0n ? t.success(u) : t.failure(u, c, 'expected a natural number ({"#bigint": "n"}, n ≥ 0)')),
  (x) => x,
);

export const boundedNat = (name: string, max: bigint) =>
  new t.Type<bigint, ItfValue, unknown>(
    name,
    (u): u is bigint => isBig(u) && u >= 0n && u <= max,
    (u, c) => (isBig(u) && u >= 0n && u <= max ? t.success(u) : t.failure(u, c, `expected a ${name} (0 ≤ n ≤ ${max})`)),
    (x) => x,
  );

/** [TRC-RANGE.1] u64 */
export const U64 = boundedNat('nat64', U64_MAX);

/** A blob as a lowercase/uppercase hex string; optional exact length. */
export const Blob = (len?: number) =>
  new t.Type<Bytes, ItfValue, unknown>(
    len === undefined ? 'blob' : `blob${len}`,
    (u): u is Bytes => u instanceof Uint8Array,
    (u, c) => {
      if (typeof u !== 'string') return t.failure(u, c, 'expected a blob as a hex string');
      const b = fromHex(u);
      if (b === undefined) return t.failure(u, c, 'expected a blob as a hex string (even length, 0-9a-f)');
      if (len !== undefined && b.length !== len) return t.failure(u, c, `expected a blob of exactly ${len} bytes, got ${b.length}`);
      return t.success(b);
    },
    (b) => toHex(b),
  );

/** [PRN-PARSE.1] a principal in canonical textual form. */
export const PrincipalText = new t.Type<Principal, ItfValue, unknown>(
  'principal',
  (u): u is Principal => typeof u === 'object' && u !== null && 'bytes' in u && 'text' in u,
  (u, c) => {
    if (typeof u !== 'string') return t.failure(u, c, 'expected a principal in textual form');
    const p = principalFromText(u);
    if (isPrincipalError(p)) return t.failure(u, c, `invalid principal "${u}": ${p.kind === 'PrincipalTooLong' ? `${p.length} bytes > 29` : p.reason}`);
    if (p.text !== u) return t.failure(u, c, `non-canonical principal text "${u}" (canonical: "${p.text}")`);
    return t.success(p);
  },
  (p) => p.text,
);

/**
 * Option, accepting Quint's `{tag: "Some", value}` / `{tag: "None", value: unit}` and, for
 * `mbt::nondetPicks` style inputs, a missing field as None ([TRC-ITF-OPTION.1]).
 */
export const Opt = <A>(inner: t.Type<A, ItfValue, unknown>) =>
  new t.Type<A | undefined, ItfValue, unknown>(
    `Option<${inner.name}>`,
    (u): u is A | undefined => u === undefined || inner.is(u),
    (u, c) => {
      if (u === undefined) return t.success(undefined);
      if (typeof u === 'object' && u !== null && !Array.isArray(u) && 'tag' in u) {
        const o = u as { tag: unknown; value?: unknown };
        if (o.tag === 'None') return t.success(undefined);
        if (o.tag === 'Some') return inner.validate(o.value, t.appendContext(c, 'value', inner, o.value));
      }
      return t.failure(u, c, `expected an Option ({"tag":"Some","value":…} or {"tag":"None",…})`);
    },
    (x) => (x === undefined ? { tag: 'None', value: { '#tup': [] } } : { tag: 'Some', value: inner.encode(x) }),
  );

/** A record: fields decoded by codecs; unknown fields are an error (typos must not pass silently). */
export const Rec = <P extends t.Props>(name: string, props: P) => {
  const base = t.type(props, name);
  return new t.Type<t.TypeOf<typeof base>, ItfValue, unknown>(
    name,
    base.is,
    (u, c) => {
      if (typeof u !== 'object' || u === null || Array.isArray(u)) return t.failure(u, c, `expected a record ${name}`);
      for (const k of Object.keys(u)) if (!(k in props)) return t.failure((u as Record<string, unknown>)[k], t.appendContext(c, k, t.never, undefined), `unknown field "${k}" in ${name}`);
      return base.validate(u, c);
    },
    (x) => base.encode(x) as ItfValue,
  );
};

/** The unit payload of a variant, in any producer's spelling. */
export const Unit = new t.Type<null, ItfValue, unknown>(
  'unit',
  (u): u is null => u === null,
  (u, c) => {
    if (u === undefined || u === 'U_OF_UNIT') return t.success(null);
    if (typeof u === 'object' && u !== null && !Array.isArray(u)) {
      const o = u as Record<string, unknown>;
      const ks = Object.keys(o);
      if (ks.length === 0) return t.success(null);
      if (ks.length === 1 && Array.isArray(o['#tup']) && (o['#tup'] as unknown[]).length === 0) return t.success(null);
      if (o.tag === 'UNIT') return t.success(null);
    }
    return t.failure(u, c, 'expected a unit value');
  },
  () => ({ '#tup': [] }),
);

/** JSON pointer and message of the first io-ts error, relative to the decoded value. */
export const firstError = (errors: t.Errors): { pointer: string; message: string } => {
  const e = errors[0];
  if (!e) return { pointer: '', message: 'invalid value' };
  const keys = e.context.map((c) => c.key).filter((k) => k !== '');
  const pointer = keys.map((k) => `/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
  const last = e.context[e.context.length - 1];
  const shown = (() => {
    try {
      return JSON.stringify(e.value, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
    } catch {
      return String(e.value);
    }
  })();
  return { pointer, message: e.message ?? `expected ${last?.type.name ?? 'a value'}, got ${shown ?? 'nothing'}` };
};

export const decodeWith = <A>(codec: t.Decoder<unknown, A>, u: unknown): { ok: true; value: A } | { ok: false; pointer: string; message: string } => {
  const r = codec.decode(u);
  return isRight(r) ? { ok: true, value: r.right } : { ok: false, ...firstError(r.left) };
};

/** An ITF tuple `{"#tup": [a, b]}` (a plain list is accepted too: Apalache writes some tuples as lists). */
export const Tup2 = <A, B>(a: t.Type<A, ItfValue, unknown>, b: t.Type<B, ItfValue, unknown>) => {
  const inner = t.tuple([a, b]);
  return new t.Type<[A, B], ItfValue, unknown>(
    `(${a.name}, ${b.name})`,
    inner.is,
    (u, c) => {
      const xs = Array.isArray(u) ? u : typeof u === 'object' && u !== null && Array.isArray((u as { '#tup'?: unknown })['#tup']) ? (u as { '#tup': unknown[] })['#tup'] : undefined;
      if (xs === undefined) return t.failure(u, c, `expected a tuple (${a.name}, ${b.name})`);
      return inner.validate(xs, t.appendContext(c, '#tup', inner, xs));
    },
    ([x, y]) => ({ '#tup': [a.encode(x), b.encode(y)] }),
  );
};

/** An ITF list of elements. */
export const List = <A>(el: t.Type<A, ItfValue, unknown>) => t.array(el) as unknown as t.Type<A[], ItfValue, unknown>;

/** A natural number below 2^31 as a JavaScript number (node indices, heights, message ids). */
export const SmallNat = new t.Type<number, ItfValue, unknown>(
  'nat31',
  (u): u is number => typeof u === 'number' && Number.isSafeInteger(u) && u >= 0 && u < 2 ** 31,
  (u, c) => (typeof u === 'bigint' && u >= 0n && u < 2n ** 31n ? t.success(Number(u)) : t.failure(u, c, `expected a natural number below 2^31, got ${typeof u === 'bigint' ? u.toString() : JSON.stringify(u)}`)),
  (n) => BigInt(n),
);

/** An ITF set `{"#set": [...]}` of distinct elements (distinctness is checked when the JSON is read). */
export const SetOf = <A>(el: t.Type<A, ItfValue, unknown>) => {
  const inner = t.array(el);
  return new t.Type<A[], ItfValue, unknown>(
    `Set<${el.name}>`,
    inner.is,
    (u, c) => {
      const xs = typeof u === 'object' && u !== null && !Array.isArray(u) && Array.isArray((u as { '#set'?: unknown })['#set']) ? (u as { '#set': unknown[] })['#set'] : undefined;
      if (xs === undefined) return t.failure(u, c, `expected a set {"#set": [...]} of ${el.name}`);
      return inner.validate(xs, t.appendContext(c, '#set', inner, xs));
    },
    (xs) => ({ '#set': xs.map((x) => el.encode(x)) }),
  );
};
