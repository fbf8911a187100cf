/**
 * Subnet configurations of the execution machine. The numbers are the replica's
 * (`SubnetConfig`, `ExecutionConfig`, `CyclesAccountManagerConfig`); the seed's "one big subnet"
 * concept is the same machine with one configuration.
 */
import type { ExecConfig } from './state.js';
import { tableOf, type SubnetKind } from '../cycles/table.js';

const GiB = 1024n * 1024n * 1024n;

/** The replica's default subnet size for cycles: the reference size of 13 nodes. */
export const DEFAULT_SUBNET_SIZE = 13n;

/** An application subnet, as the replica configures it. */
export const APPLICATION_SUBNET: ExecConfig = {
  // the first canister range of the NNS-assigned ranges: rwlgt-iiaaa-aaaaa-aaaaa-cai is index 0
  rangeStart: 0n,
  rangeEnd: 0xfffffn,
  limits: {
    update: 40_000_000_000n,
    updateSlice: 2_000_000_000n,
    query: 5_000_000_000n,
    install: 300_000_000_000n,
    installSlice: 2_000_000_000n,
    inspect: 200_000_000n,
  },
  stableMemoryLimit: 500n * GiB,
  defaultWasmMemoryLimit: 3n * GiB,
  maxSnapshots: 10,
  subnetKind: 'application',
  fees: { table: tableOf('application'), subnetSize: DEFAULT_SUBNET_SIZE },
  // [CYC-RESERVE.1] SUBNET_MEMORY_THRESHOLD and SUBNET_MEMORY_CAPACITY, over 4 execution threads
  subnetMemoryThreshold: 750n * GiB,
  subnetMemoryCapacity: 2048n * GiB,
  schedulerCores: 4n,
};

/** A system subnet (the NNS): larger message and install limits, and no fees ([CYC-SYSTEM-FREE.1]). */
export const SYSTEM_SUBNET: ExecConfig = {
  ...APPLICATION_SUBNET,
  limits: { ...APPLICATION_SUBNET.limits, update: 50_000_000_000n, install: 1_000_000_000_000n, installSlice: 5_000_000_000n },
  subnetKind: 'system',
  fees: { table: tableOf('system'), subnetSize: DEFAULT_SUBNET_SIZE },
};

/** The configuration of a subnet of a given type, size and cost-table version. */
export const subnetConfig = (kind: SubnetKind, size: bigint = DEFAULT_SUBNET_SIZE, costVersion?: string): ExecConfig => {
  const base = kind === 'system' ? SYSTEM_SUBNET : APPLICATION_SUBNET;
  return { ...base, subnetKind: kind, fees: { table: tableOf(kind, costVersion), subnetSize: size } };
};

/** Without deterministic time slicing: a message runs in one slice of the whole limit. */
export const withoutDts = (c: ExecConfig): ExecConfig => ({
  ...c,
  limits: { ...c.limits, update: 5_000_000_000n, updateSlice: 5_000_000_000n, installSlice: c.limits.install },
});
