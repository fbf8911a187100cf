/**
 * The decision rules of Internet Computer Consensus that safety rests on, shared by the
 * replica machine (replica.ts) and the safety-core machine (core.ts), so that a trace of
 * either checks the same code.
 */
import { notarizationThreshold } from './params.js';

/** [CON-THRESHOLD.1] a set of distinct signers reaches the notarization/finalization threshold. */
export const reachesThreshold = (signers: number, n: number): boolean => signers >= notarizationThreshold(n);

/**
 * [CON-FINALIZE-SHARE.1] A replica may send a finalization share for block `b` of a height only
 * if it made notarization shares for no other block of that height (N ⊆ {b}).
 */
export const sharedOnlyThis = <B>(notarShared: Iterable<B>, b: B): boolean => {
  for (const x of notarShared) if (x !== b) return false;
  return true;
};

/**
 * [CON-FINALIZE-ANCESTORS.1] Finalizing a block finalizes its ancestors: the finalized set is
 * the closure of the directly finalized blocks under `parent`.
 */
export const ancestorsClosure = <B>(direct: Iterable<B>, parent: (b: B) => B | undefined): Set<B> => {
  const out = new Set<B>();
  for (const b of direct) {
    let x: B | undefined = b;
    while (x !== undefined && !out.has(x)) {
      out.add(x);
      x = parent(x);
    }
  }
  return out;
};
