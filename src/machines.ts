/** The registry of machines that traces can name (`#meta.machine`). */
import type { Machine } from './core/machine.js';
import { coreMachine } from './consensus/core.js';
import { subnetMachine } from './consensus/machine.js';
import { ledgerMachine } from './ledger/machine.js';

export interface MachineEntry {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly machine: Machine<any, any>;
  /** JSON Schema (spec/schema/) of the machine's action vocabulary */
  readonly schema: string;
}

export const MACHINES: Readonly<Record<string, MachineEntry>> = {
  ledger: { machine: ledgerMachine, schema: 'ledger.schema.json' },
  consensus: { machine: subnetMachine, schema: 'consensus.schema.json' },
  consensus_core: { machine: coreMachine, schema: 'consensus_core.schema.json' },
};
