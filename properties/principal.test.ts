/** Principals (spec/principal.md) and ICP account identifiers (spec/ledger.md §Accounts). */
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { isRight } from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../src/core/bytes.js';
import {
  ANONYMOUS,
  MANAGEMENT_CANISTER,
  canisterId,
  isPrincipalError,
  principalClass,
  principalFromBytes,
  principalFromText,
  selfAuthenticating,
  type Principal,
  type PrincipalClass,
} from '../src/core/principal.js';
import { accountId, accountIdBytes, checkAccountId, parseAccountIdHex } from '../src/ledger/account.js';
import { PrincipalText } from '../src/trace/codecs.js';
import { arbPrincipal, arbPrincipalBytes } from './helpers.js';

// ---------------------------------------------------------------- an independent oracle

const B32 = 'abcdefghijklmnopqrstuvwxyz234567';
/** RFC 4648 base32, lower case, no padding — written here from the RFC, not from src/. */
const base32 = (b: Uint8Array): string => {
  let bits = 0;
  let acc = 0;
  let out = '';
  for (const x of b) {
    acc = (acc << 8) | x;
    bits += 8;
    while (bits >= 5) {
      out += B32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += B32[(acc << (5 - bits)) & 31];
  return out;
};
const crcBE = (b: Uint8Array): Uint8Array => {
  const c = crc32(b) >>> 0;
  return new Uint8Array([c >>> 24, (c >>> 16) & 0xff, (c >>> 8) & 0xff, c & 0xff]);
};
const cat = (...xs: Uint8Array[]) => Uint8Array.from(xs.flatMap((x) => [...x]));
const group5 = (s: string) => s.match(/.{1,5}/g)!.join('-');
/** Group5(lower(Base32(CRC32_BE(b) ‖ b))) */
const oracleText = (b: Uint8Array): string => group5(base32(cat(crcBE(b), b)));
const sha224 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha224').update(b).digest());

const ok = (x: ReturnType<typeof principalFromText>): Principal => {
  if (isPrincipalError(x)) throw new Error(`unexpected principal error ${JSON.stringify(x)}`);
  return x;
};
const P = (text: string): Principal => ok(principalFromText(text));
const ALPHABET = [...B32];
const codecAccepts = (u: unknown): boolean => isRight(PrincipalText.decode(u));

describe('principal text', () => {
  it('[PRN-TEXT.1] [PRN-PARSE.1] [PRN-BYTES.1] bytes → text → bytes round-trips for every 0..29-byte blob, and the text is the lower-case Group5(Base32(CRC32 ‖ b))', () => {
    fc.assert(
      fc.property(arbPrincipalBytes, (b) => {
        const p = principalFromBytes(b);
        expect(isPrincipalError(p)).toBe(false);
        const text = (p as Principal).text;
        expect(text).toBe(oracleText(b));
        expect(text).toBe(text.toLowerCase());
        expect(text).toMatch(/^[a-z2-7]{5}(-[a-z2-7]{5})*(-[a-z2-7]{1,5})?$|^[a-z2-7]{1,5}$/);
        const back = ok(principalFromText(text));
        expect(toHex(back.bytes)).toBe(toHex(b));
        expect(back.text).toBe(text);
        expect(codecAccepts(text)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('[PRN-TEXT.1] published test vectors: 04, empty, abcd01, 00', () => {
    const vectors: Array<[string, string]> = [
      ['04', '2vxsx-fae'],
      ['', 'aaaaa-aa'],
      ['abcd01', 'em77e-bvlzu-aq'],
      ['00', '2ibo7-dia'],
    ];
    for (const [h, text] of vectors) {
      const p = principalFromBytes(fromHex(h)!) as Principal;
      expect(p.text).toBe(text);
      expect(toHex(P(text).bytes)).toBe(h);
    }
    expect(ANONYMOUS.text).toBe('2vxsx-fae');
    expect(MANAGEMENT_CANISTER.text).toBe('aaaaa-aa');
  });

  it('[PRN-PARSE.1] parsing is case-insensitive, but the trace codec PrincipalText accepts only the canonical lower-case text', () => {
    fc.assert(
      fc.property(arbPrincipal, fc.infiniteStream(fc.boolean()), (p, ups) => {
        const mixed = [...p.text].map((c) => (ups.next().value ? c.toUpperCase() : c)).join('');
        const upper = p.text.toUpperCase();
        for (const variant of [upper, mixed]) {
          const q = ok(principalFromText(variant));
          expect(toHex(q.bytes)).toBe(toHex(p.bytes));
          expect(q.text).toBe(p.text); // canonical text is lower case
          expect(codecAccepts(variant)).toBe(variant === p.text);
        }
        // an upper-case text has at least one letter (every text has ≥ 7 base32 chars, but may be all digits)
        if (/[a-z]/.test(p.text)) expect(codecAccepts(upper)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('[PRN-PARSE.1] changing any one character of a canonical text is rejected (checksum or base32 error)', () => {
    fc.assert(
      fc.property(arbPrincipal, fc.nat(), fc.constantFrom(...ALPHABET), (p, i, c) => {
        const positions = [...p.text].map((ch, k) => (ch === '-' ? -1 : k)).filter((k) => k >= 0);
        const k = positions[i % positions.length]!;
        fc.pre(p.text[k] !== c);
        const t = p.text.slice(0, k) + c + p.text.slice(k + 1);
        const r = principalFromText(t);
        expect(isPrincipalError(r)).toBe(true);
        expect((r as { kind: string }).kind).toBe('PrincipalTextMalformed');
        expect(codecAccepts(t)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('[PRN-PARSE.1] a removed, moved or extra dash, a character outside a-z2-7, or surrounding space is rejected', () => {
    fc.assert(
      fc.property(arbPrincipal, fc.nat(), fc.nat(), fc.constantFrom('0', '1', '8', '9', '_', '=', '.', 'é'), (p, i, j, bad) => {
        const dashes = [...p.text].map((ch, k) => (ch === '-' ? k : -1)).filter((k) => k >= 0);
        expect(dashes.length).toBeGreaterThan(0); // ≥ 7 characters, so at least one dash
        const d = dashes[i % dashes.length]!;
        const removed = p.text.slice(0, d) + p.text.slice(d + 1);
        const raw = p.text.replace(/-/g, '');
        const at = j % (removed.length + 1);
        const moved = removed.slice(0, at) + '-' + removed.slice(at);
        const extraPos = j % (p.text.length + 1);
        const extra = p.text.slice(0, extraPos) + '-' + p.text.slice(extraPos);
        const badPos = j % (p.text.length + 1);
        const badChar = p.text.slice(0, badPos) + bad + p.text.slice(badPos);
        const candidates = [removed, extra, badChar, raw, ` ${p.text}`, `${p.text} `, `${p.text}-`, `-${p.text}`];
        if (moved !== p.text) candidates.push(moved);
        for (const t of candidates) {
          const r = principalFromText(t);
          expect(isPrincipalError(r), `"${t}" must be rejected`).toBe(true);
          expect(codecAccepts(t)).toBe(false);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('[PRN-BYTES.1] [PRN-PARSE.1] a blob of 30 or more bytes is not a principal, from bytes or from (checksummed) text', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 30, maxLength: 40 }), (b) => {
        expect(principalFromBytes(b)).toEqual({ kind: 'PrincipalTooLong', length: b.length });
        const t = oracleText(b);
        expect(principalFromText(t)).toEqual({ kind: 'PrincipalTooLong', length: b.length });
        expect(codecAccepts(t)).toBe(false);
      }),
      { numRuns: 100 },
    );
    expect(isPrincipalError(principalFromBytes(new Uint8Array(29)))).toBe(false);
  });

  it('[PRN-PARSE.1] too-short texts and non-zero padding bits are rejected', () => {
    for (const t of ['', 'a', 'aaaaa', 'aaaaa-a', '2vxsx-fa', 'aaaaa-ab']) expect(isPrincipalError(principalFromText(t)), t).toBe(true);
    // same checksum+bytes prefix but a last character whose padding bits are non-zero
    fc.assert(
      fc.property(arbPrincipal, fc.integer({ min: 1, max: 31 }), (p, delta) => {
        const raw = p.text.replace(/-/g, '');
        const nbits = (4 + p.bytes.length) * 8;
        const pad = raw.length * 5 - nbits; // unused low bits of the last character
        fc.pre(pad > 0);
        const last = B32.indexOf(raw[raw.length - 1]!);
        const bumped = last ^ (delta & ((1 << pad) - 1));
        fc.pre(bumped !== last);
        const t = group5(raw.slice(0, -1) + B32[bumped]);
        expect(isPrincipalError(principalFromText(t))).toBe(true);
      }),
    );
  });
});

describe('canister ids, classes, self-authenticating ids', () => {
  it('[PRN-CANISTER-ID.1] canister ids 0..4 match the published ids, and every canister id is u64_BE(n) ‖ 01 ‖ 01', () => {
    const published = ['rwlgt-iiaaa-aaaaa-aaaaa-cai', 'rrkah-fqaaa-aaaaa-aaaaq-cai', 'ryjl3-tyaaa-aaaaa-aaaba-cai', 'r7inp-6aaaa-aaaaa-aaabq-cai', 'rkp4c-7iaaa-aaaaa-aaaca-cai'];
    published.forEach((text, n) => {
      expect(canisterId(BigInt(n)).text).toBe(text);
      expect(toHex(P(text).bytes)).toBe(`${n.toString(16).padStart(16, '0')}0101`);
    });
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (n) => {
        const p = canisterId(n);
        expect(toHex(p.bytes)).toBe(`${n.toString(16).padStart(16, '0')}0101`);
        expect(p.text).toBe(oracleText(p.bytes));
        expect(principalClass(p)).toBe('opaque');
        expect(p.text.endsWith('-cai')).toBe(true);
      }),
    );
  });

  const oracleClass = (b: Uint8Array): PrincipalClass => {
    if (b.length === 0) return 'management';
    const last = b[b.length - 1];
    if (b.length === 1 && last === 0x04) return 'anonymous';
    if (b.length === 29 && last === 0x02) return 'self-authenticating';
    if (last === 0x03) return 'derived';
    if (last === 0x7f) return 'reserved';
    return 'opaque';
  };

  it('[PRN-CLASS.1] the class is given by the last byte: management, anonymous, self-authenticating, derived, reserved, opaque', () => {
    expect(principalClass(MANAGEMENT_CANISTER)).toBe('management');
    expect(principalClass(ANONYMOUS)).toBe('anonymous');
    expect(principalClass(P('aaaaa-aa'))).toBe('management');
    expect(principalClass(P('2vxsx-fae'))).toBe('anonymous');
    const endIn = (last: number) =>
      fc.uint8Array({ minLength: 0, maxLength: 28 }).map((b) => principalFromBytes(cat(b, new Uint8Array([last]))) as Principal);
    const arbAny = fc.oneof(arbPrincipal, endIn(0x02), endIn(0x03), endIn(0x04), endIn(0x7f), endIn(0x01), fc.uint8Array({ minLength: 28, maxLength: 28 }).map((b) => principalFromBytes(cat(b, new Uint8Array([2]))) as Principal));
    fc.assert(
      fc.property(arbAny, (p) => {
        expect(principalClass(p)).toBe(oracleClass(p.bytes));
      }),
      { numRuns: 400 },
    );
    // the boundary cases, explicitly
    expect(principalClass(principalFromBytes(new Uint8Array([1, 0x04])) as Principal)).toBe('opaque');
    expect(principalClass(principalFromBytes(new Uint8Array(28).fill(9).map((x, i) => (i === 27 ? 2 : x))) as Principal)).toBe('opaque');
    expect(principalClass(principalFromBytes(new Uint8Array([0x03])) as Principal)).toBe('derived');
    expect(principalClass(principalFromBytes(new Uint8Array([5, 0x7f])) as Principal)).toBe('reserved');
  });

  it('[PRN-SELF-AUTH.1] [PRN-CLASS.1] selfAuthenticating(key) is SHA-224(key) ‖ 02, 29 bytes, of class self-authenticating', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 100 }), (key) => {
        const p = selfAuthenticating(key);
        expect(p.bytes.length).toBe(29);
        expect(toHex(p.bytes)).toBe(`${toHex(sha224(key))}02`);
        expect(principalClass(p)).toBe('self-authenticating');
        expect(p.text).toBe(oracleText(p.bytes));
        expect(toHex(P(p.text).bytes)).toBe(toHex(p.bytes));
      }),
    );
  });
});

describe('account identifiers', () => {
  const oracleAccountId = (owner: Uint8Array, sub?: Uint8Array): string => {
    const h = sha224(cat(new Uint8Array([0x0a]), new TextEncoder().encode('account-id'), owner, sub ?? new Uint8Array(32)));
    return toHex(cat(crcBE(h), h));
  };

  it('[LED-ACCOUNT-ID.1] [LED-ACCOUNT-DEFAULT.1] published account-id vectors', () => {
    const vectors: Array<[string, string | undefined, string]> = [
      ['2vxsx-fae', undefined, '1c7a48ba6a562aa9eaa2481a9049cdf0433b9738c992d698c31d8abf89cadc79'],
      ['aaaaa-aa', undefined, '2d0e897f7e862d2b57d9bc9ea5c65f9a24ac6c074575f47898314b8d6cb0929d'],
      ['ryjl3-tyaaa-aaaaa-aaaba-cai', undefined, '883eef7c44be51afe4a4420d4df4beff708f3cf2f5de5efcc9f58680bb0f3690'],
      ['mxzaz-hqaaa-aaaar-qaada-cai', undefined, 'eff69ed8f9fc03ceba97e6f4e1a9d1a32641fcd49aba96922c51a7dca91a4c6e'],
      ['2vxsx-fae', `${'00'.repeat(31)}01`, 'b8fab0be4ad596a3739ab93e7316a8647ee72e167709441da49ce9171828629d'],
    ];
    for (const [owner, sub, id] of vectors) {
      const subaccount = sub === undefined ? undefined : fromHex(sub)!;
      expect(accountId({ owner: P(owner), subaccount })).toBe(id);
      expect(toHex(accountIdBytes(P(owner), subaccount))).toBe(id);
      expect(parseAccountIdHex(id)).toEqual({ ok: true, id });
    }
  });

  it('[LED-ACCOUNT-ID.1] [LED-ACCOUNT-DEFAULT.1] the id is CRC32(h) ‖ SHA-224(0A ‖ "account-id" ‖ owner ‖ sub32); an absent subaccount is the zero subaccount', () => {
    fc.assert(
      fc.property(arbPrincipal, fc.option(fc.uint8Array({ minLength: 32, maxLength: 32 }), { nil: undefined }), (owner, sub) => {
        const id = accountId({ owner, subaccount: sub });
        expect(id).toBe(oracleAccountId(owner.bytes, sub));
        expect(id).toMatch(/^[0-9a-f]{64}$/);
        expect(accountId({ owner })).toBe(accountId({ owner, subaccount: new Uint8Array(32) }));
        if (sub !== undefined && sub.some((x) => x !== 0)) expect(id).not.toBe(accountId({ owner }));
      }),
      { numRuns: 200 },
    );
  });

  it('[LED-ACCOUNT-ID-CHECK.1] every computed id passes the check, and flipping any single bit fails it', () => {
    fc.assert(
      fc.property(arbPrincipal, fc.option(fc.uint8Array({ minLength: 32, maxLength: 32 }), { nil: undefined }), fc.integer({ min: 0, max: 255 }), (owner, sub, bit) => {
        const b = accountIdBytes(owner, sub);
        expect(checkAccountId(b)).toEqual({ ok: true, id: toHex(b) });
        const flipped = Uint8Array.from(b);
        flipped[bit >> 3]! ^= 1 << (bit & 7);
        const r = checkAccountId(flipped);
        expect(r.ok).toBe(false);
        expect(r).toMatchObject({ ok: false, reason: 'checksum' });
        expect(parseAccountIdHex(toHex(flipped)).ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('[LED-ACCOUNT-ID-CHECK.1] only 32-byte blobs can be account ids; a random 32-byte blob is valid iff its first 4 bytes are the CRC32 of the rest', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 40 }), (b) => {
        const r = checkAccountId(b);
        if (b.length !== 32) expect(r).toEqual({ ok: false, reason: 'length' });
        else expect(r.ok).toBe(toHex(crcBE(b.subarray(4))) === toHex(b.subarray(0, 4)));
        const fixed = b.length === 32 ? cat(crcBE(b.subarray(4)), b.subarray(4)) : undefined;
        if (fixed) expect(checkAccountId(fixed).ok).toBe(true);
      }),
    );
    expect(parseAccountIdHex('zz')).toEqual({ ok: false, reason: 'length' });
  });
});
