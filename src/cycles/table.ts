/**
 * The cycles cost table ([CYC-TABLE.1]): the replica's fees as data, one table per replica
 * generation, from `spec/data/cycles-costs.json`. A version may name a `base` version and give
 * only what it changes. Every amount is a u128 (checked when the table is read).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../core/root.js';

/** The registry's subnet types (verified application subnets are priced as application subnets). */
export type SubnetKind = 'application' | 'verified_application' | 'system';

export const SUBNET_KINDS: readonly SubnetKind[] = ['application', 'verified_application', 'system'];

/** The fees of one subnet type in one replica version (`CyclesAccountManagerConfig`). */
export interface CostTable {
  readonly version: string;
  readonly kind: SubnetKind;
  /** `sum`: scale(reception + bytes · per byte); `parts`: scale(reception) + scale(per byte) · bytes */
  readonly ingressFeeScaling: 'sum' | 'parts';
  readonly referenceSubnetSize: bigint;
  readonly canisterCreationFee: bigint;
  readonly computePercentAllocatedPerSecondFee: bigint;
  readonly updateMessageExecutionFee: bigint;
  readonly tenUpdateInstructionsExecutionFee: bigint;
  readonly tenUpdateInstructionsExecutionFeeWasm64: bigint;
  readonly xnetCallFee: bigint;
  readonly xnetByteTransmissionFee: bigint;
  readonly ingressMessageReceptionFee: bigint;
  readonly ingressByteReceptionFee: bigint;
  readonly gibStoragePerSecondFee: bigint;
  readonly basePerSecondFee: bigint;
  /** seconds */
  readonly durationBetweenAllocationCharges: bigint;
  readonly ecdsaSignatureFee: bigint;
  readonly schnorrSignatureFee: bigint;
  readonly vetkdFee: bigint;
  readonly httpRequestLinearBaselineFee: bigint;
  readonly httpRequestQuadraticBaselineFee: bigint;
  readonly httpRequestPerByteFee: bigint;
  readonly httpResponsePerByteFee: bigint;
  /** seconds; 0 disables storage reservation */
  readonly maxStorageReservationPeriod: bigint;
  readonly defaultReservedBalanceLimit: bigint;
  readonly fetchCanisterLogsBaseFee: bigint;
  readonly fetchCanisterLogsPerByteFee: bigint;
}

type Fields = Omit<CostTable, 'version' | 'kind' | 'ingressFeeScaling'>;

/** JSON field names of the table (the replica's, snake_case). */
const FIELDS: Readonly<Record<keyof Fields, string>> = {
  referenceSubnetSize: 'reference_subnet_size',
  canisterCreationFee: 'canister_creation_fee',
  computePercentAllocatedPerSecondFee: 'compute_percent_allocated_per_second_fee',
  updateMessageExecutionFee: 'update_message_execution_fee',
  tenUpdateInstructionsExecutionFee: 'ten_update_instructions_execution_fee',
  tenUpdateInstructionsExecutionFeeWasm64: 'ten_update_instructions_execution_fee_wasm64',
  xnetCallFee: 'xnet_call_fee',
  xnetByteTransmissionFee: 'xnet_byte_transmission_fee',
  ingressMessageReceptionFee: 'ingress_message_reception_fee',
  ingressByteReceptionFee: 'ingress_byte_reception_fee',
  gibStoragePerSecondFee: 'gib_storage_per_second_fee',
  basePerSecondFee: 'base_per_second_fee',
  durationBetweenAllocationCharges: 'duration_between_allocation_charges',
  ecdsaSignatureFee: 'ecdsa_signature_fee',
  schnorrSignatureFee: 'schnorr_signature_fee',
  vetkdFee: 'vetkd_fee',
  httpRequestLinearBaselineFee: 'http_request_linear_baseline_fee',
  httpRequestQuadraticBaselineFee: 'http_request_quadratic_baseline_fee',
  httpRequestPerByteFee: 'http_request_per_byte_fee',
  httpResponsePerByteFee: 'http_response_per_byte_fee',
  maxStorageReservationPeriod: 'max_storage_reservation_period',
  defaultReservedBalanceLimit: 'default_reserved_balance_limit',
  fetchCanisterLogsBaseFee: 'fetch_canister_logs_base_fee',
  fetchCanisterLogsPerByteFee: 'fetch_canister_logs_per_byte_fee',
};

export const U128_MAX = (1n << 128n) - 1n;

interface VersionJson {
  readonly base?: string;
  readonly ingress_fee_scaling?: 'sum' | 'parts';
  readonly application: Readonly<Record<string, string>>;
  readonly system: Readonly<Record<string, string>>;
}

interface TableJson {
  readonly default: string;
  readonly versions: Readonly<Record<string, VersionJson>>;
}

const json = JSON.parse(readFileSync(join(packageRoot(), 'spec', 'data', 'cycles-costs.json'), 'utf8')) as TableJson;

/** The versions of the table, and the one used when none is named. */
export const COST_VERSIONS: readonly string[] = Object.keys(json.versions);
export const DEFAULT_COST_VERSION: string = json.default;

/** A version's raw fields for one table, with its base versions' fields under it. */
const rawFields = (version: string, table: 'application' | 'system'): Record<string, string> & { ingress_fee_scaling?: string } => {
  const v = json.versions[version]!;
  const base = v.base !== undefined ? rawFields(v.base, table) : {};
  return { ...base, ...(v.ingress_fee_scaling !== undefined ? { ingress_fee_scaling: v.ingress_fee_scaling } : {}), ...v[table] };
};

/** The cost table of a subnet type in a replica version, or why there is none. */
export const costTable = (kind: SubnetKind, version: string = DEFAULT_COST_VERSION): CostTable | { readonly error: string } => {
  if (json.versions[version] === undefined) return { error: `unknown cost table version ${JSON.stringify(version)} (known: ${COST_VERSIONS.join(', ')})` };
  const raw = rawFields(version, kind === 'system' ? 'system' : 'application');
  const out: Record<string, unknown> = { version, kind, ingressFeeScaling: raw.ingress_fee_scaling === 'parts' ? 'parts' : 'sum' };
  for (const [k, name] of Object.entries(FIELDS)) {
    const s = raw[name];
    if (s === undefined || !/^[0-9]+$/.test(s)) return { error: `cost table ${version}/${kind}: field ${name} is missing or not a natural number` };
    const n = BigInt(s);
    if (n > U128_MAX) return { error: `cost table ${version}/${kind}: field ${name} exceeds u128` };
    out[k] = n;
  }
  return out as unknown as CostTable;
};

/** The cost table, for callers that name a known version (the default one always is). */
export const tableOf = (kind: SubnetKind, version?: string): CostTable => {
  const t = costTable(kind, version);
  if ('error' in t) throw new Error(t.error);
  return t;
};
