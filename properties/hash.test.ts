import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sha224Shared, sha256 } from '../src/core/hash.js';

/** The allocation-free hashing of the hot paths (src/core/hash.ts) against node:crypto's. */
const cat = (parts: readonly Uint8Array[]): Buffer => Buffer.concat(parts.map((p) => Buffer.from(p)));

describe('SHA-256 and SHA-224 of parts (src/core/hash.ts)', () => {
  it('[HTTP-REQUEST-ID.1] [HTTP-HASH-TREE.1] [LED-ACCOUNT-ID.1] equal node:crypto on the concatenation, for any split and any length (across block boundaries and beyond the staging buffer)', () => {
    const part = fc.oneof({ arbitrary: fc.uint8Array({ maxLength: 80 }), weight: 6 }, { arbitrary: fc.uint8Array({ minLength: 60, maxLength: 1500 }), weight: 1 });
    fc.assert(
      fc.property(fc.array(part, { maxLength: 6 }), (parts) => {
        const all = cat(parts);
        expect(Buffer.from(sha256(...parts)).toString('hex')).toBe(createHash('sha256').update(all).digest('hex'));
        expect(Buffer.from(sha224Shared(...parts)).toString('hex')).toBe(createHash('sha224').update(all).digest('hex'));
      }),
      { numRuns: 400 },
    );
  });

  it('sha256 returns a fresh array each call', () => {
    const a = sha256(new Uint8Array([1]));
    const b = sha256(new Uint8Array([2]));
    expect(a).not.toBe(b);
    expect(Buffer.from(a).toString('hex')).toBe(createHash('sha256').update(Buffer.from([1])).digest('hex'));
  });
});
