/**
 * Execution scenario traces (traces/execution/scenarios/): drun scripts over the repository's
 * canisters, run by the reference and written as traces whose modules are files beside them
 * (traces/execution/modules/, referenced by path and SHA-256). `npm run traces:scenarios`
 * writes them; properties/execution-scenarios.test.ts checks that the committed files are what
 * this produces and that each exercises what it claims.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IDL } from '@dfinity/candid';
import { toHex } from '../src/core/bytes.js';
import { canisterId } from '../src/core/principal.js';
import { packageRoot } from '../src/core/root.js';
import type { SubnetKind } from '../src/cycles/table.js';
import { METHODS, toDfinity } from '../src/execution/candid.js';
import { runDrun } from '../src/drun/run.js';
import { drunTrace } from '../src/drun/trace.js';
import { loadCanister } from '../src/toolchain/compile.js';
import { prog } from '../src/toolchain/universal.js';
import { loadTraceText } from '../src/trace/load.js';
import { replay } from '../src/trace/replay.js';

export interface ExecutionScenario {
  readonly name: string;
  readonly description: string;
  /** canisters/ names whose modules the script installs (as modules/<name>.wasm) */
  readonly modules: readonly string[];
  readonly script: string;
  /** requirements the scenario is made to show (its replay must exercise them) */
  readonly focus: readonly string[];
  /** the subnet drun runs on (default drun's: a free system subnet) */
  readonly subnet?: SubnetKind;
}

const C0 = canisterId(0n).text;
const C1 = canisterId(1n).text;
const EMPTY = '"DIDL\\x00\\x00"';
const nat = (n: number): string => `0x${toHex(new Uint8Array(IDL.encode([IDL.Nat], [BigInt(n)])))}`;
const u = (p: ReturnType<typeof prog>): string => `0x${toHex(p.build())}`;

// ---- the cycles scenarios: two universal canisters on a 13-node application subnet

const NO_SETTINGS = { controllers: [], compute_allocation: [], memory_allocation: [], freezing_threshold: [], reserved_cycles_limit: [], log_visibility: [], wasm_memory_limit: [], wasm_memory_threshold: [], environment_variables: [] };
/** `ingress aaaaa-aa update_settings` for canister `n` (drun's sender, anonymous, controls it). */
const settings = (n: bigint, s: Partial<Record<keyof typeof NO_SETTINGS, [bigint]>>): string =>
  `ingress aaaaa-aa update_settings 0x${toHex(new Uint8Array(IDL.encode([METHODS.update_settings.arg], [{ canister_id: toDfinity(canisterId(n)), settings: { ...NO_SETTINGS, ...s }, sender_canister_version: [] }])))}`;
/** canister_status, as an update (`ingress`, its canister pays the induction fee) or a query */
const status = (n: bigint, how: 'ingress' | 'query' = 'ingress'): string => `${how} aaaaa-aa canister_status 0x${toHex(new Uint8Array(IDL.encode([METHODS.canister_status.arg], [{ canister_id: toDfinity(canisterId(n)) }])))}`;
const topUp = (n: bigint, amount: bigint): string =>
  `ingress aaaaa-aa provisional_top_up_canister 0x${toHex(new Uint8Array(IDL.encode([METHODS.provisional_top_up_canister.arg], [{ canister_id: toDfinity(canisterId(n)), amount }])))}`;
const TWO_UNIVERSAL = ['create', `install ${C0} ../modules/universal.wasm 0x`, 'create', `install ${C1} ../modules/universal.wasm 0x`];
/** reply with the balance (16 bytes LE) */
const BALANCE = prog().canisterCycleBalance128().replyBlob();
/**
 * C0 runs out: no freezing limit, a compute allocation of 100 % (10⁹ cycles a second), and its
 * liquid balance burned; C1's updates then pass the time until a periodic charge cannot be paid.
 */
const RUN_OUT = [
  ...TWO_UNIVERSAL,
  settings(0n, { freezing_threshold: [0n], compute_allocation: [100n] }),
  `ingress ${C0} update ${u(prog().pushI64(-1n).pushI64(-1n).cyclesBurn128().replyBlob())}`,
  ...Array.from({ length: 38 }, () => `ingress ${C1} update ${u(prog().replyData(''))}`),
  `ingress ${C0} update ${u(BALANCE)}`,
  status(0n, 'query'),
];

export const EXECUTION_SCENARIOS: readonly ExecutionScenario[] = [
  {
    name: 'counter',
    description: 'the Motoko counter: created as drun does, installed, three updates and a query',
    modules: ['counter'],
    script: ['create', `install ${C0} ../modules/counter.wasm 0x`, `ingress ${C0} inc ${EMPTY}`, `ingress ${C0} inc ${EMPTY}`, `ingress ${C0} bump ${EMPTY}`, `query ${C0} get ${EMPTY}`].join('\n'),
    focus: ['EXE-INGRESS-SUBMIT.1', 'EXE-EXECUTE.1', 'EXE-EXEC-CALL.1', 'EXE-MGMT.1', 'EXE-INSTALL.1', 'EXE-QUERY.1', 'EXE-VERSION.1'],
  },
  {
    name: 'trap-rollback',
    description: 'a Motoko canister sets its state and traps: the trap is reported with IC0503 and the state is as before',
    modules: ['trapper'],
    script: ['create', `install ${C0} ../modules/trapper.wasm 0x`, `ingress ${C0} set ${nat(7)}`, `ingress ${C0} setThenTrap ${nat(5)}`, `query ${C0} get ${EMPTY}`].join('\n'),
    focus: ['EXE-TRAP-ROLLBACK.1', 'EXE-TRAP-ERROR.1', 'EXE-STARVED.1', 'EXE-ERRORS.1'],
  },
  {
    name: 'ping-pong',
    description: 'two Motoko actors: ping calls pong, which calls back ping\'s query while ping waits at its await',
    modules: ['ping', 'pong'],
    script: [
      'create',
      `install ${C0} ../modules/ping.wasm 0x`,
      'create',
      `install ${C1} ../modules/pong.wasm 0x`,
      `ingress ${C0} run 0x${toHex(new Uint8Array(IDL.encode([IDL.Principal], [toDfinity(canisterId(1n))])))}`,
      `query ${C0} get ${EMPTY}`,
    ].join('\n'),
    focus: ['EXE-EXEC-RESPONSE.1', 'EXE-EXEC-CALL.1', 'EXE-ORDER.1'],
  },
  {
    name: 'upgrade-stable',
    description: 'a Motoko canister with enhanced orthogonal persistence upgraded with wasm_memory_persistence = keep: stable fields survive, transient ones are reset',
    modules: ['stable'],
    script: ['create', `install ${C0} ../modules/stable.wasm 0x`, `ingress ${C0} add ${nat(5)}`, `upgrade ${C0} ../modules/stable.wasm 0x`, `query ${C0} read ${EMPTY}`].join('\n'),
    focus: ['EXE-INSTALL.1', 'EXE-MGMT.1'],
  },
  {
    name: 'universal-errors',
    description: 'the universal canister: a reply, a canister reject, no reply (IC0506), a System API call outside its context (IC0504), and a call to a missing method answered in the reject callback',
    modules: ['universal'],
    script: [
      'create',
      `install ${C0} ../modules/universal.wasm 0x`,
      `ingress ${C0} update ${u(prog().pushBytes('hi').debugPrint().replyData('ok'))}`,
      `ingress ${C0} update ${u(prog().rejectWith('no'))}`,
      `ingress ${C0} update ${u(prog().nop())}`,
      `query ${C0} query ${u(prog().callSimple({ callee: canisterId(0n).bytes, method: 'update' }).drop().replyData(''))}`,
      `ingress ${C0} update ${u(prog().callSimple({ callee: canisterId(0n).bytes, method: 'nope', onReject: prog().rejectMsg().replyBlob() }).drop())}`,
    ].join('\n'),
    focus: ['EXE-STARVED.1', 'EXE-EXEC-RESPONSE.1', 'EXE-ERRORS.1', 'EXE-CALL-ADMISSION.1'],
  },
  {
    name: 'cycles-charge-update',
    description: 'an application subnet charges an update: the ingress induction fee, the prepaid execution and the refund of unused instructions; the canister sees its balance after the prepayment, and canister_status reports the accounts',
    modules: ['universal'],
    subnet: 'application',
    script: [
      'create',
      `install ${C0} ../modules/universal.wasm 0x`,
      `ingress ${C0} update ${u(BALANCE)}`,
      `ingress ${C0} update ${u(BALANCE)}`,
      status(0n),
    ].join('\n'),
    focus: ['CYC-INGRESS.1', 'CYC-EXEC-FEE.1', 'CYC-PREPAY.1', 'CYC-TABLE.1', 'CYC-SCALE.1', 'CYC-ARITH.1', 'CYC-SYSAPI.1', 'CYC-STATUS.1', 'CYC-IDLE.1', 'CYC-MEMORY-USAGE.1', 'CYC-MGMT-FEES.1', 'CYC-CONSERVATION.1', 'CYC-STATE.1'],
  },
  {
    name: 'cycles-partial-accept',
    description: 'a call with 10¹² cycles attached, of which the callee accepts 4·10¹¹: the caller pays the call fee and the response reservation, and gets back the 6·10¹¹ not accepted and what the reply did not use of the reservation',
    modules: ['universal'],
    subnet: 'application',
    script: [
      ...TWO_UNIVERSAL,
      `ingress ${C0} update ${u(prog().callSimple({
        callee: canisterId(1n).bytes,
        method: 'update',
        arg: prog().pushI64(0n).pushI64(400_000_000_000n).msgCyclesAccept128().replyDataAppend().msgCyclesAvailable128().replyDataAppend().reply().build(),
        cycles: 1_000_000_000_000n,
        onReply: prog().msgArgData().replyDataAppend().msgCyclesRefunded128().replyDataAppend().reply(),
      }).drop())}`,
      `ingress ${C0} update ${u(BALANCE)}`,
      `ingress ${C1} update ${u(BALANCE)}`,
    ].join('\n'),
    focus: ['CYC-CALL-FEE.1', 'CYC-RESPONSE-RESERVE.1', 'CYC-REFUND.1', 'CYC-SYSAPI.1', 'CYC-PREPAY.1', 'CYC-CONSERVATION.1'],
  },
  {
    name: 'cycles-freezing',
    description: 'a freezing threshold so high that the freezing limit exceeds the balance: an ingress message is refused at induction (IC0207), a call from another canister is rejected with the out-of-cycles error and its cycles refunded; lowering the threshold (a small update_settings pays its fee afterwards) thaws the canister',
    modules: ['universal'],
    subnet: 'application',
    script: [
      ...TWO_UNIVERSAL,
      settings(1n, { freezing_threshold: [1_000_000_000_000_000n] }),
      `ingress ${C1} update ${u(prog().replyData('not frozen'))}`,
      `ingress ${C0} update ${u(prog().callSimple({ callee: canisterId(1n).bytes, method: 'update', arg: prog().replyData('not frozen').build(), cycles: 1_000_000_000n, onReject: prog().msgRejectCode().i32ToBlob().replyDataAppend().rejectMsg().replyDataAppend().msgCyclesRefunded128().replyDataAppend().reply() }).drop())}`,
      `ingress ${C0} update ${u(BALANCE)}`,
      settings(1n, { freezing_threshold: [2_592_000n] }),
      `ingress ${C1} update ${u(prog().replyData('thawed'))}`,
    ].join('\n'),
    focus: ['CYC-FREEZE.1', 'CYC-INGRESS.1', 'CYC-PREPAY.1', 'CYC-REFUND.1', 'CYC-SYSAPI.1', 'CYC-CONSERVATION.1'],
  },
  {
    name: 'cycles-run-out',
    description: 'a canister with a compute allocation of 100 % and no freezing limit burns its liquid balance; when a periodic charge cannot be paid it is uninstalled: its module and memory go, what is left is consumed, its id, controllers and settings stay, and ingress to it is refused',
    modules: ['universal'],
    subnet: 'application',
    script: RUN_OUT.join('\n'),
    focus: ['CYC-COMPUTE.1', 'CYC-STORAGE.1', 'CYC-PERIODIC.1', 'CYC-OUT-OF-CYCLES.1', 'CYC-SYSAPI.1', 'CYC-CONSERVATION.1'],
  },
  {
    name: 'cycles-top-up-revive',
    description: 'a canister that ran out and was uninstalled is topped up (provisional_top_up_canister mints), installed again and answers updates again',
    modules: ['universal'],
    subnet: 'application',
    script: [...RUN_OUT, topUp(0n, 5_000_000_000_000n), `install ${C0} ../modules/universal.wasm 0x`, `ingress ${C0} update ${u(BALANCE)}`, status(0n)].join('\n'),
    focus: ['CYC-OUT-OF-CYCLES.1', 'CYC-MGMT-FEES.1', 'CYC-INGRESS.1', 'CYC-CONSERVATION.1'],
  },
];

const dir = (): string => join(packageRoot(), 'traces', 'execution');
export const executionScenarioFile = (name: string): string => join(dir(), 'scenarios', `${name}.itf.json`);
export const moduleFile = (name: string): string => join(dir(), 'modules', `${name}.wasm`);

/** The modules a scenario installs, compiled (cached) from canisters/. */
export const scenarioModules = async (sc: ExecutionScenario): Promise<Map<string, Uint8Array>> => {
  const m = new Map<string, Uint8Array>();
  for (const n of sc.modules) m.set(n, (await loadCanister(n)).wasm);
  return m;
};

/**
 * Run a scenario (its modules must be in traces/execution/modules/), record and replay it: the
 * trace text and any problem with what it claims.
 */
export const recordExecutionScenario = (sc: ExecutionScenario): { text: string; problems: string[] } => {
  const problems: string[] = [];
  const scenarios = join(dir(), 'scenarios');
  const err: string[] = [];
  const r = runDrun(sc.script, { baseDir: scenarios, out: () => undefined, err: (l) => err.push(l), recordDir: scenarios, ...(sc.subnet ? { subnet: sc.subnet } : {}) });
  if (r.exitCode !== 0) problems.push(`${sc.name}: drun: ${err.join('; ')}`);
  const first = drunTrace(r, `${sc.name}.drun`) as { '#meta': Record<string, unknown>; vars: string[]; states: unknown[] };
  const t = loadTraceText(executionScenarioFile(sc.name), JSON.stringify(first));
  if (!t.ok) return { text: '', problems: [...problems, `${sc.name}: ${t.pointer}: ${t.message}`] };
  const rep = replay(t.entry.machine, t);
  if (rep.divergence) problems.push(`${sc.name}: diverges at step ${rep.divergence.step}: ${rep.divergence.path}`);
  const missing = sc.focus.filter((q) => !rep.exercised.includes(q));
  if (missing.length) problems.push(`${sc.name}: does not exercise ${missing.join(', ')}`);
  const meta = { ...first['#meta'], scenario: sc.name, description: sc.description, requirements: rep.exercised.filter((q) => q.startsWith('EXE-') || q.startsWith('CYC-')) };
  const text = `{"#meta":${JSON.stringify(meta)},\n"vars":${JSON.stringify(first.vars)},\n"states":[\n${first.states.map((s) => JSON.stringify(s)).join(',\n')}\n]}\n`;
  return { text, problems };
};

const main = async (): Promise<void> => {
  if (Number(process.versions.node.split('.')[0]) < 24) {
    process.stderr.write(`error: the execution scenarios need Node 24 (Wasm memory64), this is ${process.versions.node}: run \`npm run traces:scenarios\`\n`);
    process.exitCode = 2;
    return;
  }
  mkdirSync(join(dir(), 'scenarios'), { recursive: true });
  mkdirSync(join(dir(), 'modules'), { recursive: true });
  let bad = 0;
  for (const sc of EXECUTION_SCENARIOS) {
    for (const [n, wasm] of await scenarioModules(sc)) writeFileSync(moduleFile(n), wasm);
    const { text, problems } = recordExecutionScenario(sc);
    if (problems.length) {
      bad++;
      for (const p of problems) process.stderr.write(`error: ${p}\n`);
      continue;
    }
    writeFileSync(executionScenarioFile(sc.name), text);
    process.stdout.write(`wrote ${executionScenarioFile(sc.name)} (${text.split('\n').length - 4} states, ${Math.round(text.length / 1024)} KiB)\n`);
  }
  process.exitCode = bad ? 1 : 0;
};

if (process.argv[1]?.endsWith('execution-scenarios.js')) void main();
