/**
 * `icspec cost`: what a message costs on a subnet, with its breakdown, from the cost table
 * ([CYC-TABLE.1]) and the charging rules of spec/cycles.md. Pure arithmetic: no canister runs.
 */
import { Command } from 'commander';
import * as A from '../cycles/account.js';
import { COST_VERSIONS, DEFAULT_COST_VERSION, SUBNET_KINDS, costTable, type SubnetKind } from '../cycles/table.js';
import { SYSTEM_SUBNET, APPLICATION_SUBNET } from '../execution/config.js';
import { BadValue, configure, valueOption } from './args.js';
import { utf8Length } from '../core/bytes.js';

export const natural = (flag: string, min = 0n) => (v: string): bigint => {
  if (!/^[0-9]+$/.test(v)) throw new BadValue(`${flag} needs a whole number, got "${v}"`);
  const n = BigInt(v);
  if (n < min) throw new BadValue(`${flag} must be at least ${min}, got ${n}`);
  if (n > (1n << 64n) - 1n) throw new BadValue(`${flag} must fit in 64 bits, got ${n}`);
  return n;
};

export const oneOf = <T extends string>(flag: string, values: readonly T[]) => (v: string): T => {
  if (!values.includes(v as T)) throw new BadValue(`${flag} must be one of ${values.join(', ')}, got "${v}"`);
  return v as T;
};

export interface CostArgs {
  readonly instructions: bigint;
  readonly argBytes: bigint;
  readonly method: string;
  readonly subnetSize: bigint;
  readonly subnetType: SubnetKind;
  readonly costVersion: string;
  readonly wasm64: boolean;
  /** the signed request's size, when known; otherwise method name + argument */
  readonly envelopeBytes?: bigint;
}

/** One line of the breakdown: what, the formula with its figures, and the cycles. */
export interface CostLine {
  readonly item: string;
  readonly formula: string;
  readonly cycles: bigint;
}

export interface CostReport {
  readonly subnet: { readonly type: SubnetKind; readonly size: bigint; readonly costVersion: string };
  readonly ingress: readonly CostLine[];
  readonly ingressTotal: bigint;
  readonly call: readonly CostLine[];
  readonly callTotal: bigint;
}

/** The cost of an update message of `instructions` instructions and an `argBytes`-byte argument, as ingress and as a call. */
export const costOf = (a: CostArgs): CostReport | { readonly error: string } => {
  const table = costTable(a.subnetType, a.costVersion);
  if ('error' in table) return table;
  const f: A.Fees = { table, subnetSize: a.subnetSize };
  const n = a.subnetSize;
  const r = table.referenceSubnetSize;
  const limit = (a.subnetType === 'system' ? SYSTEM_SUBNET : APPLICATION_SUBNET).limits.update;
  const used = a.instructions < limit ? a.instructions : limit;
  const bytes = a.envelopeBytes ?? BigInt(utf8Length(a.method)) + a.argBytes;
  const per10 = a.wasm64 ? table.tenUpdateInstructionsExecutionFeeWasm64 : table.tenUpdateInstructionsExecutionFee;
  const sc = `× ${n} / ${r}`;
  const induction = A.ingressInductionCost(f, bytes);
  const prepaid = A.executionCost(f, limit, a.wasm64);
  const refund = A.executionRefund(f, limit - used, limit, prepaid, a.wasm64);
  const execution: CostLine[] = [
    { item: 'execution prepaid', formula: `(${table.updateMessageExecutionFee} + ${per10} × ${limit} / 10) ${sc}`, cycles: prepaid },
    { item: 'execution refund', formula: `−(${per10} × ${limit - used} unused / 10) ${sc}`, cycles: -refund },
  ];
  const ingress: CostLine[] = [
    {
      item: 'ingress induction',
      formula:
        table.ingressFeeScaling === 'sum'
          ? `(${table.ingressMessageReceptionFee} + ${table.ingressByteReceptionFee} × ${bytes} B) ${sc}`
          : `${table.ingressMessageReceptionFee} ${sc} + (${table.ingressByteReceptionFee} ${sc}) × ${bytes} B`,
      cycles: induction,
    },
    ...execution,
  ];
  const callBytes = BigInt(utf8Length(a.method)) + a.argBytes;
  const ch = A.callCharge(f, callBytes, limit, a.wasm64);
  const call: CostLine[] = [
    { item: 'call fee', formula: `${table.xnetCallFee} ${sc}`, cycles: A.xnetCallPerformedFee(f) },
    { item: 'request bytes', formula: `${table.xnetByteTransmissionFee} × ${callBytes} B ${sc}`, cycles: A.xnetBytesFee(f, callBytes) },
    ...execution,
    { item: 'caller: response reserve', formula: `${table.xnetByteTransmissionFee} × ${A.MAX_INTER_CANISTER_PAYLOAD_IN_BYTES} B ${sc} (refunded but for the response's bytes)`, cycles: A.responseTransmissionReserve(f) },
    { item: 'caller: callback prepaid', formula: `(${table.updateMessageExecutionFee} + ${per10} × ${limit} / 10) ${sc} (refunded but for the callback's instructions)`, cycles: ch.execution },
  ];
  const sum = (l: readonly CostLine[]): bigint => l.reduce((x, y) => x + y.cycles, 0n);
  return {
    subnet: { type: a.subnetType, size: n, costVersion: a.costVersion },
    ingress,
    ingressTotal: sum(ingress),
    call,
    // what stays consumed: the reservations are refunded apart from what the response and callback use
    callTotal: sum(call.slice(0, 4)),
  };
};

const render = (r: CostReport, a: CostArgs): string => {
  const w = (l: readonly CostLine[]): string[] => l.map((x) => `  ${x.item.padEnd(26)} ${A.fmtCycles(x.cycles < 0n ? -x.cycles : x.cycles).padStart(20)}${x.cycles < 0n ? ' (−)' : '    '}  ${x.formula}`);
  return [
    `${r.subnet.type} subnet of ${r.subnet.size} nodes, cost table ${r.subnet.costVersion}; an update of ${a.instructions} instructions${a.wasm64 ? ' (Wasm64)' : ''}, method "${a.method}", ${a.argBytes}-byte argument`,
    'as an ingress message (paid by the canister):',
    ...w(r.ingress),
    `  ${'total'.padEnd(26)} ${A.fmtCycles(r.ingressTotal).padStart(20)}`,
    'as an inter-canister call (callee executes; caller pays the call and reserves for the response):',
    ...w(r.call),
    `  ${'total without reserves'.padEnd(26)} ${A.fmtCycles(r.callTotal).padStart(20)}`,
  ].join('\n');
};

export const costCommand = (io: { readonly out: (s: string) => void; readonly setExitCode: (n: number) => void; readonly help: () => string }): Command =>
  configure(new Command('cost'), { help: io.help })
    .description('the cycles a message costs on a subnet, with the breakdown')
    .addOption(valueOption('--instructions <n>', 'instructions the message executes', natural('--instructions'), '--instructions needs a number'))
    .addOption(valueOption('--arg-bytes <n>', 'bytes of the argument', natural('--arg-bytes'), '--arg-bytes needs a number'))
    .addOption(valueOption('--method <name>', 'the method name (its bytes count)', (v: string) => v, '--method needs a name'))
    .addOption(valueOption('--envelope-bytes <n>', "the signed request's size, when known", natural('--envelope-bytes'), '--envelope-bytes needs a number'))
    .addOption(valueOption('--subnet-size <n>', 'nodes of the subnet (default 13)', natural('--subnet-size', 1n), '--subnet-size needs a number'))
    .addOption(valueOption('--subnet-type <t>', `one of ${SUBNET_KINDS.join(', ')} (default application)`, oneOf('--subnet-type', SUBNET_KINDS), '--subnet-type needs a value'))
    .addOption(valueOption('--cost-version <v>', `one of ${COST_VERSIONS.join(', ')} (default ${DEFAULT_COST_VERSION})`, oneOf('--cost-version', COST_VERSIONS), '--cost-version needs a value'))
    .option('--wasm64', 'the canister is a Wasm64 module')
    .option('--json', 'print the breakdown as JSON')
    .action((o: { instructions?: bigint; argBytes?: bigint; method?: string; envelopeBytes?: bigint; subnetSize?: bigint; subnetType?: SubnetKind; costVersion?: string; wasm64?: boolean; json?: boolean }) => {
      const a: CostArgs = {
        instructions: o.instructions ?? 0n,
        argBytes: o.argBytes ?? 0n,
        method: o.method ?? '',
        subnetSize: o.subnetSize ?? 13n,
        subnetType: o.subnetType ?? 'application',
        costVersion: o.costVersion ?? DEFAULT_COST_VERSION,
        wasm64: o.wasm64 === true,
        ...(o.envelopeBytes !== undefined ? { envelopeBytes: o.envelopeBytes } : {}),
      };
      const r = costOf(a);
      if ('error' in r) {
        io.out(`error: ${r.error}`);
        io.setExitCode(2);
        return;
      }
      io.out(o.json === true ? JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 1) : render(r, a));
      io.setExitCode(0);
    });
