/**
 * One trace file replayed in a worker of `icspec replay`'s pool ([TRC-REPLAY.1]): the same
 * loading and replay as in the main thread, answered as plain data.
 */
import { loadTrace, type BadInput } from '../trace/load.js';
import { replay, type ReplayReport } from '../trace/replay.js';

export type FileResult = { readonly bad: BadInput } | { readonly report: ReplayReport; readonly steps: number };

/** Load and replay one file. */
export const replayFile = (file: string, invariants: boolean, onStep?: (i: number, n: number) => void): FileResult => {
  const t = loadTrace(file);
  if (!t.ok) return { bad: t };
  const n = t.steps.length;
  return { report: replay(t.entry.machine, t, { invariants, ...(onStep !== undefined ? { onStep: (i: number) => onStep(i, n) } : {}) }), steps: n };
};

/** The pool's task. */
export default ({ file, invariants }: { readonly file: string; readonly invariants: boolean }): FileResult => replayFile(file, invariants);
