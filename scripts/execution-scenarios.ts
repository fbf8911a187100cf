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
import { toDfinity } from '../src/execution/candid.js';
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
}

const C0 = canisterId(0n).text;
const C1 = canisterId(1n).text;
const EMPTY = '"DIDL\\x00\\x00"';
const nat = (n: number): string => `0x${toHex(new Uint8Array(IDL.encode([IDL.Nat], [BigInt(n)])))}`;
const u = (p: ReturnType<typeof prog>): string => `0x${toHex(p.build())}`;

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
  const r = runDrun(sc.script, { baseDir: scenarios, out: () => undefined, err: (l) => err.push(l), recordDir: scenarios });
  if (r.exitCode !== 0) problems.push(`${sc.name}: drun: ${err.join('; ')}`);
  const first = drunTrace(r, `${sc.name}.drun`) as { '#meta': Record<string, unknown>; vars: string[]; states: unknown[] };
  const t = loadTraceText(executionScenarioFile(sc.name), JSON.stringify(first));
  if (!t.ok) return { text: '', problems: [...problems, `${sc.name}: ${t.pointer}: ${t.message}`] };
  const rep = replay(t.entry.machine, t);
  if (rep.divergence) problems.push(`${sc.name}: diverges at step ${rep.divergence.step}: ${rep.divergence.path}`);
  const missing = sc.focus.filter((q) => !rep.exercised.includes(q));
  if (missing.length) problems.push(`${sc.name}: does not exercise ${missing.join(', ')}`);
  const meta = { ...first['#meta'], scenario: sc.name, description: sc.description, requirements: rep.exercised.filter((q) => q.startsWith('EXE-')) };
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
