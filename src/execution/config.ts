/**
 * Subnet configurations of the execution machine. The numbers are the
 * replica's (`SubnetConfig`, `ExecutionConfig`); the seed's "one big subnet" concept is the
 * same machine with one configuration.
 */
import type { ExecConfig } from './state.js';

const GiB = 1024n * 1024n * 1024n;

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
};

/** A system subnet (the NNS): larger message and install limits. */
export const SYSTEM_SUBNET: ExecConfig = {
  ...APPLICATION_SUBNET,
  limits: { ...APPLICATION_SUBNET.limits, update: 50_000_000_000n, install: 1_000_000_000_000n, installSlice: 5_000_000_000n },
};

/** Without deterministic time slicing: a message runs in one slice of the whole limit. */
export const withoutDts = (c: ExecConfig): ExecConfig => ({
  ...c,
  limits: { ...c.limits, update: 5_000_000_000n, updateSlice: 5_000_000_000n, installSlice: c.limits.install },
});
