/** Writing subnet runs as traces (kept apart from machine.ts: the trace tools import the machine registry). */
import { record } from '../trace/replay.js';
import { encodeInit, encodeStep, subnetMachine } from './machine.js';
import type { RecordedStep } from './sim.js';
import type { SubnetConfig } from './subnet.js';

/** A simulation as a trace (JSON): its configuration and every rule application it made. */
export const simTrace = (cfg: SubnetConfig, steps: readonly RecordedStep[], meta: Record<string, unknown> = {}, view?: readonly string[]): unknown =>
  record(subnetMachine, encodeInit(cfg), steps.map(encodeStep), { meta, ...(view ? { view } : {}) }).trace;
