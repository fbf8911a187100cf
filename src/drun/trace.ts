/**
 * A drun run as an execution trace ([EXE-TRACE.1]): the reference re-applies every recorded
 * rule to write each state's action, outcome and view. Modules of files below the trace's
 * directory are written as references (a path relative to the trace, and its SHA-256).
 */
import { executionMachine } from '../execution/machine.js';
import { variant } from '../trace/itf.js';
import { record } from '../trace/replay.js';
import type { DrunResult } from './run.js';

export const drunTrace = (r: Pick<DrunResult, 'init' | 'actions' | 'moduleRefs'>, source: string): unknown => {
  const trace = record(executionMachine, r.init, r.actions, {
    meta: { source: `icspec drun ${source}`, description: 'a drun run: every rule the default scheduler applied, in order' },
  }).trace as { states: Array<Record<string, unknown>> };
  for (const [i, ref] of r.moduleRefs) {
    const act = trace.states[i + 1]!['last_action'] as { value: Record<string, unknown> };
    act.value = { ...act.value, wasm: variant('Path', ref) };
  }
  return trace;
};
