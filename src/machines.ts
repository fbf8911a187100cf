/** The registry of machines that traces can name (`#meta.machine`). */
import type { Machine } from './core/machine.js';
import { coreMachine } from './consensus/core.js';
import { subnetMachine } from './consensus/machine.js';
import { ledgerMachine } from './ledger/machine.js';
import { executionMachine } from './execution/machine.js';
import { resolveAbstractArgs, resolveExecutionArgs } from './execution/trace-files.js';
import { abstractMachine } from './execution/abstract.js';

export interface MachineEntry {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly machine: Machine<any, any>;
  /** JSON Schema (spec/schema/) of the machine's action vocabulary */
  readonly schema: string;
  /**
   * Resolve references to files beside the trace (e.g. Wasm modules by path and hash) in an
   * action's raw arguments, before they are decoded; a failure names the argument's pointer.
   */
  readonly resolve?: (tag: string, raw: unknown, dir: string) => { readonly ok: unknown } | { readonly pointer: string; readonly message: string };
}

export const MACHINES: Readonly<Record<string, MachineEntry>> = {
  ledger: { machine: ledgerMachine, schema: 'ledger.schema.json' },
  consensus: { machine: subnetMachine, schema: 'consensus.schema.json' },
  consensus_core: { machine: coreMachine, schema: 'consensus_core.schema.json' },
  execution: { machine: executionMachine, schema: 'execution.schema.json', resolve: resolveExecutionArgs },
  execution_abstract: { machine: abstractMachine, schema: 'execution_abstract.schema.json', resolve: resolveAbstractArgs },
};
