import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PVec } from '../src/core/pvec.js';

describe('PVec (persistent vector behind the state API)', () => {
  it('pushing onto any version, including forks of old versions, leaves every other version unchanged', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.integer()), { maxLength: 200 }), (ops) => {
        const versions: PVec<number>[] = [PVec.empty()];
        const models: number[][] = [[]];
        for (const [v, x] of ops) {
          const i = v % versions.length;
          versions.push(versions[i]!.push(x));
          models.push([...models[i]!, x]);
        }
        versions.forEach((pv, i) => {
          expect(pv.toArray()).toEqual(models[i]);
          expect(pv.length).toBe(models[i]!.length);
          expect(pv.last()).toBe(models[i]!.at(-1));
          expect(pv.get(pv.length)).toBeUndefined();
        });
      }),
      { numRuns: 300 },
    );
  });
});
