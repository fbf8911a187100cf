/**
 * Execution machine benchmark (`npm run bench:execution`; part of `npm run bench`).
 *
 * Prints ONE JSON object on stdout (progress on stderr), each figure the median of REPS runs:
 *
 *  1. update calls per second through the machine, for the Motoko counter (`inc`, Candid `()`)
 *     and the minimal WAT canister (`inc`): each update is `submitIngress` then `executeMessage`
 *     of its message ("direct"), and again with the default scheduler (`submitIngress` then one
 *     `runRound` per message); also "direct" with the message id given to `submitIngress` (so that
 *     the machine does not derive it by SHA-256), to show that cost. A sample of the ingress statuses must be `replied`, and a query at
 *     the end of every run must read the number of updates (counter `get`, minimal `get`).
 *  2. the reference point: V8 alone calling the ORIGINAL (uninstrumented) moc-compiled counter's
 *     `canister_update inc` export with stub ic0 functions (no metering, no call contexts, no
 *     persistence); and the ratio reference / machine. The same for the minimal WAT canister.
 *  3. metered Wasm instructions per second on the compute-bound `loop` canister (`compute` with a
 *     large iteration count, through the machine: `executeMessage` then `resumeExecution` of the
 *     slices DTS pauses it for; instructions from the StepReports), against the
 *     original loop.wasm run by V8 without instrumentation (memory exported so that the stub
 *     `msg_arg_data_copy` can write the argument): time ratio instrumented / uninstrumented.
 *  4. the per-message cost of `touch` on the bigmem canister grown to 1 GiB (16384 Wasm pages)
 *     against the same canister at 1 page, as a ratio.
 *  5. the memory of N (10,000) idle installed minimal canisters in one subnet (created and
 *     installed through the management canister by ingress): heap used, external and rss after
 *     `gc()` per canister beyond a baseline subnet with 0 canisters, with the ingress history kept
 *     and dropped, and the touched 4 KiB pages per canister; then again after one `inc` to each
 *     canister (1 touched page each, and runtime.ts's memo of up to 256 live V8 instances full).
 *
 * Every throughput run starts from a fresh subnet with the canister installed (its live instance
 * materialized by an untimed query), and holds only the newest state: holding the start state
 * across a run would keep every intermediate version (and its 4 KiB page copies) alive. Each run is sized (by a calibration run) to last about RUN_SECONDS.
 *
 *  6. cycles accounting on against off: direct updates of the counter and the minimal canister on
 *     the 13-node application subnet and on the same subnet with the Free cost schedule, the cost
 *     per message as a ratio (target ≤ 1.1).
 *
 * Options: --reps=3 --cycles-pairs=5 --seconds=1.5 --warmup-runs=1 --warmup-seconds=5 --canisters=10000 --mem-reps=3 --only=counter,minimal,cycles,v8,loop,bigmem,memory
 *          --modes=direct,scheduler,direct_message_id_given (for profiling one mode)
 */
import { environment, gitInfo } from './env.js';
import { profileOf, type ProfileSummary } from './profile.js';
import { IDL } from '@dfinity/candid';
import * as E from 'fp-ts/lib/Either.js';
import { PMap } from '../src/core/pmap.js';
import { ANONYMOUS, MANAGEMENT_CANISTER, type Principal } from '../src/core/principal.js';
import { fromDfinity, METHODS, toDfinity, type MethodName } from '../src/execution/candid.js';
import { APPLICATION_SUBNET } from '../src/execution/config.js';
import { certify, executeMessage, query, resumeExecution, submitIngress } from '../src/execution/rules.js';
import { runRound } from '../src/execution/scheduler.js';
import { dropLive } from '../src/execution/runtime.js';
import { emptyState, type ExecConfig, type ExecState, type IngressStatus } from '../src/execution/state.js';
import { loadCanister } from '../src/toolchain/compile.js';
import { bodyBytes, decodeModule, encodeModule, EXTERNAL, VT, type WasmModule } from '../src/wasm/binary.js';

// ---------------------------------------------------------------- parameters
const argv = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k!, v ?? 'true'] as const;
  }),
);
const num = (k: string, d: number): number => (argv.has(k) ? Number(argv.get(k)) : d);
const REPS = num('reps', 3);
/** pairs of runs for the cycles on/off ratios (at least REPS) */
const CYCLES_PAIRS = Math.max(REPS, num('cycles-pairs', 5));
const RUN_SECONDS = num('seconds', 1.5);
const N_CANISTERS = num('canisters', 10_000);
const MEM_REPS = num('mem-reps', 3);
const WARMUP_RUNS = num('warmup-runs', 1);
const WARMUP_SECONDS = num('warmup-seconds', 5);
const MODES = new Set((argv.get('modes') ?? 'direct,scheduler,direct_message_id_given').split(','));
const ONLY = new Set((argv.get('only') ?? 'memory,counter,minimal,cycles,v8,loop,bigmem').split(','));

const T0 = 1_620_328_630_000_000_000n;
const CANDID_EMPTY = new Uint8Array([0x44, 0x49, 0x44, 0x4c, 0x00, 0x00]);
const GIB_PAGES = 16384;

const log = (s: string): void => {
  process.stderr.write(`[bench:execution] ${s}\n`);
};
const now = (): number => performance.now();
/** Wall and CPU (user + system, all threads of this process) clocks: the machine is shared, so CPU time is reported too. */
const clock = (): { wall: number; cpu: number } => {
  const u = process.cpuUsage();
  return { wall: performance.now(), cpu: (u.user + u.system) / 1000 };
};
const since = (c: { wall: number; cpu: number }): { seconds: number; cpu_seconds: number } => {
  const d = clock();
  return { seconds: (d.wall - c.wall) / 1000, cpu_seconds: (d.cpu - c.cpu) / 1000 };
};
const mkRun = (n: number, e: { seconds: number; cpu_seconds: number }): Run => ({
  n,
  seconds: round(e.seconds, 4),
  cpu_seconds: round(e.cpu_seconds, 4),
  per_sec: Math.round(n / e.seconds),
  us_per_call: round((e.seconds * 1e6) / n, 3),
  us_per_call_cpu: round((e.cpu_seconds * 1e6) / n, 3),
});
const round = (x: number, d: number): number => Math.round(x * 10 ** d) / 10 ** d;
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const hasGc = typeof (globalThis as { gc?: unknown }).gc === 'function';
const gc = (): void => {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) for (let i = 0; i < 3; i++) g();
};
const MB = (b: number): number => round(b / 1048576, 1);
/** The median of every numeric leaf across objects of one shape (other leaves: the first's). */
const medianTree = (xs: readonly unknown[]): unknown => {
  const x0 = xs[0];
  if (typeof x0 === 'number') return median(xs as number[]);
  if (x0 !== null && typeof x0 === 'object' && !Array.isArray(x0))
    return Object.fromEntries(Object.keys(x0).map((k) => [k, medianTree(xs.map((x) => (x as Record<string, unknown>)[k]))]));
  return x0;
};

// ---------------------------------------------------------------- driving the machine

/** Submit an ingress message and execute it at once (no rounds); an execution paused by DTS is resumed to its end. */
const direct = (
  s: ExecState,
  canister: Principal,
  method: string,
  arg: Uint8Array,
  sender: Principal = ANONYMOUS,
  messageId?: string,
): { state: ExecState; messageId: string; instructions: bigint; steps: number } => {
  const msg = s.nextId; // enqueue gives the message the next id
  const r = submitIngress(s, messageId === undefined ? { sender, canister, method, arg } : { sender, canister, method, arg, messageId });
  if (E.isLeft(r)) throw new Error(`submit failed: ${JSON.stringify(r.left)}`);
  const e = executeMessage(r.right.state, { message: msg });
  if (E.isLeft(e)) throw new Error(`execute failed: ${JSON.stringify(e.left)}`);
  let state = e.right.state;
  let instructions = e.right.output.instructions;
  let steps = 1;
  // [EXE-DTS.1] an execution longer than a slice pauses: run its remaining slices
  while (state.paused.has(canister.text)) {
    const x = resumeExecution(state, { canister });
    if (E.isLeft(x)) throw new Error(`resume failed: ${JSON.stringify(x.left)}`);
    state = x.right.state;
    instructions += x.right.output.instructions;
    steps++;
  }
  return { state, messageId: r.right.output.messageId, instructions, steps };
};

/** Submit an ingress message and run one round of the default scheduler. */
const scheduled = (s: ExecState, canister: Principal, method: string, arg: Uint8Array, sender: Principal = ANONYMOUS): { state: ExecState; messageId: string } => {
  const r = submitIngress(s, { sender, canister, method, arg });
  if (E.isLeft(r)) throw new Error(`submit failed: ${JSON.stringify(r.left)}`);
  return { state: runRound(r.right.state, r.right.state.time), messageId: r.right.output.messageId };
};

const showStatus = (st: IngressStatus | undefined): string => JSON.stringify(st, (_k, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));

const replied = (s: ExecState, messageId: string): Uint8Array => {
  const st = s.ingress.get(messageId);
  if (st?.status !== 'replied') throw new Error(`message ${messageId}: expected replied, got ${showStatus(st)}`);
  return st.reply;
};

const mgmtArg = (method: MethodName, arg: unknown): Uint8Array => {
  const t = METHODS[method].arg;
  return new Uint8Array(t === undefined ? IDL.encode([], []) : IDL.encode([t], [arg]));
};

const CREATE_ARG = mgmtArg('provisional_create_canister_with_cycles', { amount: [1_000_000_000_000_000n], settings: [], specified_id: [], sender_canister_version: [] });

const createCanister = (s: ExecState): { state: ExecState; id: Principal } => {
  const d = direct(s, MANAGEMENT_CANISTER, 'provisional_create_canister_with_cycles', CREATE_ARG);
  const reply = replied(d.state, d.messageId);
  const r = IDL.decode([...METHODS.provisional_create_canister_with_cycles.ret] as IDL.Type[], reply)[0] as unknown as { canister_id: Parameters<typeof fromDfinity>[0] };
  return { state: d.state, id: fromDfinity(r.canister_id) };
};

const installCode = (s: ExecState, id: Principal, wasm: Uint8Array, arg: Uint8Array = new Uint8Array()): ExecState => {
  const d = direct(s, MANAGEMENT_CANISTER, 'install_code', mgmtArg('install_code', { mode: { install: null }, canister_id: toDfinity(id), wasm_module: wasm, arg, sender_canister_version: [] }));
  replied(d.state, d.messageId);
  return d.state;
};

const subnet = (config: ExecConfig = APPLICATION_SUBNET): ExecState => emptyState(config, T0);

const withCanister = (wasm: Uint8Array, arg?: Uint8Array, config?: ExecConfig): { state: ExecState; id: Principal } => {
  const c = createCanister(subnet(config));
  return { state: installCode(c.state, c.id, wasm, arg), id: c.id };
};

const queryReply = (s0: ExecState, canister: Principal, method: string, arg: Uint8Array): Uint8Array => {
  // queries read the last certified state: certify the state as it is now
  const c = certify(s0, {});
  const s = E.isRight(c) ? c.right.state : s0;
  const r = query(s, { sender: ANONYMOUS, canister, method, arg });
  if (E.isLeft(r)) throw new Error('query not enabled');
  const o = r.right.output;
  if (o.kind !== 'reply') throw new Error(`query ${method} rejected: ${o.message}`);
  return o.data;
};

/** Re-root every persistent map of s (so that running from s again does not pay, timed, for undoing a previous run). */
const reroot = (s: ExecState, canister: Principal): void => {
  s.canisters.reroot();
  s.messages.reroot();
  s.queues.reroot();
  s.contexts.reroot();
  s.callbacks.reroot();
  s.ingress.reroot();
  const c = s.canisters.get(canister.text);
  void c?.wasm?.heap.touchedCount;
  void c?.wasm?.stable.touchedCount;
};

// ---------------------------------------------------------------- 1. update throughput

interface UpdateCase {
  readonly name: string;
  /** a fresh subnet with the canister installed (a new one per run: holding s0 across a run would keep every intermediate version alive) */
  readonly make: () => { readonly s0: ExecState; readonly id: Principal };
  readonly method: string;
  readonly arg: Uint8Array;
  /** the query that materializes the live instance (untimed) and reads the count */
  readonly read: (s: ExecState, id: Principal) => bigint;
  /** the count in s0, and the modulus of the count the query reads */
  readonly base: bigint;
  readonly modulo: bigint;
}

interface Run {
  readonly n: number;
  readonly seconds: number;
  readonly cpu_seconds: number;
  readonly per_sec: number;
  readonly us_per_call: number;
  readonly us_per_call_cpu: number;
}

const runUpdates = (c: UpdateCase, n: number, mode: 'direct' | 'direct-given-id' | 'scheduler'): Run => {
  const made = c.make();
  const id = made.id;
  if (c.read(made.s0, id) !== c.base) throw new Error(`${c.name}: unexpected count in s0`);
  gc();
  const sample: string[] = [];
  let s = made.s0;
  const t = clock();
  if (mode === 'direct')
    for (let i = 0; i < n; i++) {
      const r = direct(s, id, c.method, c.arg);
      s = r.state;
      if (i % 1000 === 0 || i === n - 1) sample.push(r.messageId);
    }
  else if (mode === 'direct-given-id')
    for (let i = 0; i < n; i++) {
      const r = direct(s, id, c.method, c.arg, ANONYMOUS, `m${i}`);
      s = r.state;
      if (i % 1000 === 0 || i === n - 1) sample.push(r.messageId);
    }
  else
    for (let i = 0; i < n; i++) {
      const r = scheduled(s, id, c.method, c.arg);
      s = r.state;
      if (i % 1000 === 0 || i === n - 1) sample.push(r.messageId);
    }
  const e = since(t);
  for (const m of sample) replied(s, m);
  const count = c.read(s, id);
  if (count !== (c.base + BigInt(n)) % c.modulo) throw new Error(`${c.name} ${mode}: count ${count} after ${n} updates from ${c.base}`);
  if (s.messages.size !== 0) throw new Error(`${c.name} ${mode}: ${s.messages.size} messages left`);
  return mkRun(n, e);
};

type Measured = ReturnType<typeof summarize>;

const summarize = (n: number, runs: readonly Run[]) => {
  const us = median(runs.map((x) => x.us_per_call));
  const usCpu = median(runs.map((x) => x.us_per_call_cpu));
  const best = Math.min(...runs.map((x) => x.us_per_call));
  return {
    per_sec: Math.round(1e6 / us),
    us_per_call: us,
    per_sec_by_cpu_time: Math.round(1e6 / usCpu),
    us_per_call_cpu: usCpu,
    per_sec_best_run: Math.round(1e6 / best),
    n_per_run: n,
    runs: runs.map((x) => ({ seconds: x.seconds, cpu_seconds: x.cpu_seconds, per_sec: x.per_sec })),
  };
};

/**
 * Cases measured together: warm-up runs of every case, alternating, for at least WARMUP_SECONDS
 * (V8 tiers up the Wasm and JS code in background threads, which on a busy machine takes
 * seconds), each sized to about half a second at the rate seen so far; then REPS rounds that run
 * every case once (interleaved, so that drift of the machine's load does not favour one case),
 * each run sized to RUN_SECONDS at the best warm-up rate; the median.
 */
const measureCases = (
  cases: Readonly<Record<string, { readonly label: string; readonly run: (n: number) => Run; readonly n0: number }>>,
  warmupSeconds = WARMUP_SECONDS,
  reps = REPS,
): Record<string, Measured> => {
  const keys = Object.keys(cases);
  const next: Record<string, number> = Object.fromEntries(keys.map((k) => [k, cases[k]!.n0]));
  const best: Record<string, number> = Object.fromEntries(keys.map((k) => [k, 0]));
  const w0 = now();
  for (let w = 0; w < WARMUP_RUNS || (now() - w0) / 1000 < warmupSeconds; w++)
    for (const k of keys) {
      const x = cases[k]!.run(next[k]!);
      best[k] = Math.max(best[k]!, x.per_sec);
      next[k] = Math.max(cases[k]!.n0, Math.ceil(x.per_sec * 0.5));
      log(`${cases[k]!.label}: warm-up run of ${x.n}: ${x.per_sec}/s`);
    }
  const sizes: Record<string, number> = Object.fromEntries(keys.map((k) => [k, Math.max(cases[k]!.n0, Math.ceil(best[k]! * RUN_SECONDS))]));
  const runs: Record<string, Run[]> = Object.fromEntries(keys.map((k) => [k, []]));
  for (let r = 0; r < reps; r++)
    for (const k of keys) {
      const x = cases[k]!.run(sizes[k]!);
      runs[k]!.push(x);
      log(`${cases[k]!.label}: run ${r + 1}/${reps} of ${x.n}: ${x.per_sec}/s (${x.seconds} s; ${x.us_per_call} µs wall, ${x.us_per_call_cpu} µs cpu)`);
    }
  return Object.fromEntries(keys.map((k) => [k, summarize(sizes[k]!, runs[k]!)]));
};

const measureRuns = (label: string, run: (n: number) => Run, n0: number, warmupSeconds?: number): Measured => measureCases({ x: { label, run, n0 } }, warmupSeconds)['x']!;

const decodeNat = (b: Uint8Array): bigint => IDL.decode([IDL.Nat], b)[0] as bigint;
const u32le = (v: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
};
const readU32 = (b: Uint8Array): bigint => BigInt(new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0, true));

const counterCase = async (config?: ExecConfig, label = ''): Promise<UpdateCase> => {
  const wasm = (await loadCanister('counter')).wasm;
  return { name: `motoko counter${label}`, make: () => { const w = withCanister(wasm, CANDID_EMPTY, config); return { s0: w.state, id: w.id }; }, method: 'inc', arg: CANDID_EMPTY, read: (s, id) => decodeNat(queryReply(s, id, 'get', CANDID_EMPTY)), base: 0n, modulo: 1n << 64n };
};

const minimalCase = async (config?: ExecConfig, label = ''): Promise<UpdateCase> => {
  const wasm = (await loadCanister('minimal')).wasm;
  return { name: `minimal wat${label}`, make: () => { const w = withCanister(wasm, undefined, config); return { s0: w.state, id: w.id }; }, method: 'inc', arg: new Uint8Array(), read: (s, id) => readU32(queryReply(s, id, 'get', new Uint8Array())), base: 0n, modulo: 1n << 32n };
};
const measureUpdates = (c: UpdateCase) => {
  const all = {
    direct: { label: `${c.name} direct`, run: (n: number) => runUpdates(c, n, 'direct'), n0: 2000 },
    scheduler: { label: `${c.name} scheduler`, run: (n: number) => runUpdates(c, n, 'scheduler'), n0: 2000 },
    direct_message_id_given: { label: `${c.name} direct, message id given`, run: (n: number) => runUpdates(c, n, 'direct-given-id'), n0: 2000 },
  };
  return measureCases(Object.fromEntries(Object.entries(all).filter(([k]) => MODES.has(k)))) as Partial<Record<keyof typeof all, Measured>>;
};

// ---------------------------------------------------------------- 1b. cycles accounting on and off

/** The application subnet with the `Free` cost schedule: no message is charged, nothing is counted ([CYC-SYSTEM-FREE.1]). */
const FREE_SUBNET: ExecConfig = { ...APPLICATION_SUBNET, fees: { ...APPLICATION_SUBNET.fees, free: true } };

/**
 * Direct updates with cycles accounting on (the 13-node application subnet: induction fee,
 * prepaid execution and refund, freezing limits) and off (the same subnet, Free schedule), the
 * four cases interleaved; the ratio of the cost per message, on / off.
 */
const measureCycles = async () => {
  const cases = {
    counter_on: await counterCase(APPLICATION_SUBNET, ' (cycles on)'),
    counter_off: await counterCase(FREE_SUBNET, ' (cycles off)'),
    minimal_on: await minimalCase(APPLICATION_SUBNET, ' (cycles on)'),
    minimal_off: await minimalCase(FREE_SUBNET, ' (cycles off)'),
  };
  // at least 5 pairs: a ratio near its bound is judged on the median pair, and on this shared
  // machine a single pair can be off by several times (one was 5.6 where its neighbours were 1.04 and 1.16)
  const m = measureCases(
    Object.fromEntries(Object.entries(cases).map(([k, c]) => [k, { label: c.name, run: (n: number) => runUpdates(c, n, 'direct'), n0: 2000 }])),
    WARMUP_SECONDS,
    CYCLES_PAIRS,
  );
  // the runs of on and off in one rep ran one after the other: their ratio, pair by pair, is robust to the machine's drift
  const pair = (on: Measured, off: Measured) => ({
    on: { per_sec: on.per_sec, us_per_call: on.us_per_call, us_per_call_cpu: on.us_per_call_cpu },
    off: { per_sec: off.per_sec, us_per_call: off.us_per_call, us_per_call_cpu: off.us_per_call_cpu },
    ratio_cost_per_message_on_over_off: round(median(on.runs.map((r, i) => off.runs[i]!.per_sec / r.per_sec)), 3),
    ratio_of_medians: round(on.us_per_call / off.us_per_call, 3),
    ratio_cpu_of_medians: round(on.us_per_call_cpu / off.us_per_call_cpu, 3),
    ratios_by_rep: on.runs.map((r, i) => round(off.runs[i]!.per_sec / r.per_sec, 3)),
  });
  return { motoko_counter: pair(m['counter_on']!, m['counter_off']!), minimal_wat: pair(m['minimal_on']!, m['minimal_off']!) };
};

// ---------------------------------------------------------------- 2. V8 alone with stub ic0

const memoryExportName = (m: WasmModule): string | undefined => m.exports.find((e) => e.kind === EXTERNAL.memory)?.name;

/**
 * Instantiate the ORIGINAL module with stub ic0 functions: results are zeros of the declared
 * type (BigInt for i64), except the argument (`arg`), self and caller, status running.
 * No metering, no call contexts, no persistence, no write barrier.
 */
const stubInstance = (wasm: Uint8Array, arg: () => Uint8Array) => {
  const d = decodeModule(wasm);
  if (E.isLeft(d)) throw new Error(`decode: ${d.left.message}`);
  const m = d.right;
  const memName = memoryExportName(m);
  let mem: WebAssembly.Memory | undefined;
  const bytes = (): Uint8Array => new Uint8Array(mem!.buffer);
  const replies = { count: 0, last: new Uint8Array() };
  const self = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1]);
  const caller = new Uint8Array([0x04]);
  const special: Record<string, (...a: (number | bigint)[]) => unknown> = {
    msg_arg_data_size: () => arg().length,
    msg_arg_data_copy: (dst, off, size) => bytes().set(arg().subarray(Number(off), Number(off) + Number(size)), Number(dst)),
    msg_caller_size: () => caller.length,
    msg_caller_copy: (dst, off, size) => bytes().set(caller.subarray(Number(off), Number(off) + Number(size)), Number(dst)),
    canister_self_size: () => self.length,
    canister_self_copy: (dst, off, size) => bytes().set(self.subarray(Number(off), Number(off) + Number(size)), Number(dst)),
    canister_status: () => 1,
    msg_reply_data_append: (src, size) => {
      replies.last = bytes().slice(Number(src), Number(src) + Number(size));
    },
    msg_reply: () => {
      replies.count++;
    },
    trap: (src, size) => {
      throw new Error(`trap: ${new TextDecoder().decode(bytes().subarray(Number(src), Number(src) + Number(size)))}`);
    },
  };
  const ic0: Record<string, unknown> = {};
  for (const imp of m.imports) {
    if (imp.desc.kind !== 'func') throw new Error(`unexpected import ${imp.module}.${imp.name} (${imp.desc.kind})`);
    const t = m.types[imp.desc.type]!;
    const r = t.results[0];
    const i64 = r === VT.i64;
    const sp = special[imp.name];
    // a special's numeric result is converted to the declared type (memory64: i64 sizes)
    ic0[imp.name] =
      sp !== undefined
        ? r === undefined
          ? sp
          : i64
            ? (...a: (number | bigint)[]) => BigInt(sp(...a) as number)
            : sp
        : r === undefined
          ? () => {}
          : i64
            ? () => 0n
            : () => 0;
  }
  return { m, memName, replies, imports: { ic0 }, setMemory: (x: WebAssembly.Memory) => (mem = x) };
};

const v8Reference = (label: string, wasm: Uint8Array, init: boolean) => {
  const stub = stubInstance(wasm, () => CANDID_EMPTY);
  const inst = new WebAssembly.Instance(new WebAssembly.Module(wasm as BufferSource), stub.imports as WebAssembly.Imports);
  if (stub.memName !== undefined) stub.setMemory(inst.exports[stub.memName] as WebAssembly.Memory);
  if (init && inst.exports['canister_init'] !== undefined) (inst.exports['canister_init'] as () => void)();
  const inc = inst.exports['canister_update inc'] as () => void;
  const run = (n: number): Run => {
    const before = stub.replies.count;
    const t = clock();
    for (let i = 0; i < n; i++) inc();
    const e = since(t);
    if (stub.replies.count - before !== n) throw new Error(`${label}: ${stub.replies.count - before} replies for ${n} calls`);
    return mkRun(n, e);
  };
  return measureRuns(`${label} V8 alone`, run, 10_000, 2);
};

// ---------------------------------------------------------------- 3. metered instructions per second

/** The original module with its memory exported (no code changes), for the stub host. */
const withMemoryExport = (wasm: Uint8Array): Uint8Array => {
  const d = decodeModule(wasm);
  if (E.isLeft(d)) throw new Error(d.left.message);
  const m = d.right;
  if (memoryExportName(m) !== undefined) return wasm;
  return encodeModule({ ...m, exports: [...m.exports, { name: 'memory', kind: EXTERNAL.memory, index: 0 }], bodies: m.codes.map(bodyBytes) });
};

const u64le = (v: bigint): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
};

const measureLoop = async () => {
  const wasm = (await loadCanister('loop')).wasm;
  const { state: s0, id } = withCanister(wasm);
  // the uninstrumented reference
  let refArg = u64le(0n);
  const plain = withMemoryExport(wasm);
  const stub = stubInstance(plain, () => refArg);
  const inst = new WebAssembly.Instance(new WebAssembly.Module(plain as BufferSource), stub.imports as WebAssembly.Imports);
  stub.setMemory(inst.exports['memory'] as WebAssembly.Memory);
  const compute = inst.exports['canister_update compute'] as () => void;
  const machine = (iters: bigint) => {
    reroot(s0, id);
    queryReply(s0, id, 'compute_query', u64le(1n)); // materialize the live instance (untimed)
    const t = clock();
    const d = direct(s0, id, 'compute', u64le(iters));
    const e = since(t);
    return { ...e, instructions: d.instructions, steps: d.steps, reply: replied(d.state, d.messageId) };
  };
  const reference = (iters: bigint) => {
    refArg = u64le(iters);
    const t = clock();
    compute();
    const e = since(t);
    return { ...e, reply: stub.replies.last };
  };
  // calibrate (after tier-up: the first calls run in V8's baseline tier), then size the run to
  // RUN_SECONDS through the machine at the best rate seen (at most the 40B-instruction limit)
  let best = Infinity;
  for (let k = 0; k < 4; k++) {
    best = Math.min(best, machine(20_000_000n).seconds);
    reference(20_000_000n);
  }
  const maxIters = APPLICATION_SUBNET.limits.update / 16n;
  let iters = BigInt(Math.ceil((20_000_000 * RUN_SECONDS) / best));
  if (iters > maxIters) iters = maxIters;
  log(`loop: ${iters} iterations per run`);
  const runs: { machine_seconds: number; v8_seconds: number; machine_cpu_seconds: number; v8_cpu_seconds: number; instructions: string; ratio: number }[] = [];
  let instructions = 0n;
  let lastSteps = 0;
  for (let r = 0; r < REPS; r++) {
    gc();
    const a = machine(iters);
    gc();
    const b = reference(iters);
    if (Buffer.compare(Buffer.from(a.reply), Buffer.from(b.reply)) !== 0) throw new Error(`loop: machine replied ${Buffer.from(a.reply).toString('hex')}, V8 alone ${Buffer.from(b.reply).toString('hex')}`);
    instructions = a.instructions;
    lastSteps = a.steps;
    runs.push({ machine_seconds: round(a.seconds, 4), v8_seconds: round(b.seconds, 4), machine_cpu_seconds: round(a.cpu_seconds, 4), v8_cpu_seconds: round(b.cpu_seconds, 4), instructions: a.instructions.toString(), ratio: round(a.seconds / b.seconds, 3) });
    log(`loop: run ${r + 1}/${REPS}: machine ${round(a.seconds, 3)} s (${a.instructions} instructions), V8 alone ${round(b.seconds, 3)} s, ratio ${round(a.seconds / b.seconds, 3)}`);
  }
  const ms = median(runs.map((x) => x.machine_seconds));
  const vs = median(runs.map((x) => x.v8_seconds));
  return {
    iterations: iters.toString(),
    rule_steps_per_message: lastSteps,
    slice_limit: APPLICATION_SUBNET.limits.updateSlice.toString(),
    metered_instructions: instructions.toString(),
    machine_seconds: ms,
    v8_alone_seconds: vs,
    metered_instructions_per_sec: Math.round(Number(instructions) / ms),
    v8_alone_same_instructions_per_sec: Math.round(Number(instructions) / vs),
    ratio_instrumented_over_uninstrumented: round(median(runs.map((x) => x.ratio)), 3),
    ratio_by_cpu_time: round(median(runs.map((x) => x.machine_cpu_seconds / x.v8_cpu_seconds)), 3),
    runs,
  };
};

// ---------------------------------------------------------------- 4. 1 GiB vs 1 page

const measureBigmem = async () => {
  const wasm = (await loadCanister('bigmem')).wasm;
  const grown = (): { s0: ExecState; id: Principal; growSeconds: number } => {
    const w = withCanister(wasm);
    const t = now();
    const g = direct(w.state, w.id, 'grow', u32le(GIB_PAGES - 1));
    const growSeconds = (now() - t) / 1000;
    if (readU32(replied(g.state, g.messageId)) !== 1n) throw new Error('bigmem: grow did not reply the old size 1');
    const pages = readU32(queryReply(g.state, w.id, 'size', new Uint8Array()));
    if (pages !== BigInt(GIB_PAGES)) throw new Error(`bigmem: size ${pages}`);
    return { s0: g.state, id: w.id, growSeconds };
  };
  const big = grown();
  const bigCanister = big.s0.canisters.get(big.id.text)!;
  // materializing the 1 GiB state afresh (a new instance of its version): timed once
  dropLive(big.id.text);
  const t = now();
  queryReply(big.s0, big.id, 'size', new Uint8Array());
  const materializeSeconds = (now() - t) / 1000;
  // `touch` increments byte 0: `peek` reads the count mod 256
  const peek = (s: ExecState, id: Principal): bigint => BigInt(queryReply(s, id, 'peek', new Uint8Array())[0]!);
  const one: UpdateCase = { name: 'bigmem 1 page', make: () => { const w = withCanister(wasm); return { s0: w.state, id: w.id }; }, method: 'touch', arg: new Uint8Array(), read: peek, base: 0n, modulo: 256n };
  const gib: UpdateCase = { ...one, name: 'bigmem 1 GiB', make: grown };
  const m = measureCases({
    one: { label: 'bigmem touch, 1 page', run: (n) => runUpdates(one, n, 'direct'), n0: 2000 },
    gib: { label: 'bigmem touch, 1 GiB', run: (n) => runUpdates(gib, n, 'direct'), n0: 2000 },
  });
  const r1 = m['one']!;
  const rg = m['gib']!;
  return {
    one_page: r1,
    one_gib: rg,
    heap_wasm_pages_1gib: bigCanister.wasm!.heap.wasmPages,
    touched_4k_pages_1gib: bigCanister.wasm!.heap.touchedCount,
    grow_to_1gib_message_seconds: round(big.growSeconds, 4),
    materialize_1gib_instance_seconds: round(materializeSeconds, 4),
    ratio_per_message_1gib_over_1page: round(rg.us_per_call / r1.us_per_call, 3),
  };
};

// ---------------------------------------------------------------- 5. memory of idle canisters

interface Mem {
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  rss: number;
}
const memNow = (): Mem => {
  gc();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, rss: m.rss };
};
const perCanister = (a: Mem, base: Mem, n: number) => ({
  heap_used_bytes: Math.round((a.heapUsed - base.heapUsed) / n),
  heap_total_bytes: Math.round((a.heapTotal - base.heapTotal) / n),
  external_bytes: Math.round((a.external - base.external) / n),
  array_buffers_bytes: Math.round((a.arrayBuffers - base.arrayBuffers) / n),
  rss_bytes: Math.round((a.rss - base.rss) / n),
});

const measureMemoryOnce = async (n: number) => {
  const wasm = (await loadCanister('minimal')).wasm;
  // warm the module cache and the code paths, so that the baseline holds them
  const w = withCanister(wasm);
  direct(w.state, w.id, 'inc', new Uint8Array());
  dropLive(w.id.text);
  let s: ExecState | undefined = subnet();
  const base = memNow();
  log(`memory: baseline heap ${MB(base.heapUsed)} MB, rss ${MB(base.rss)} MB; creating and installing ${n} canisters`);
  const t = now();
  const ids: Principal[] = [];
  for (let i = 0; i < n; i++) {
    const c = createCanister(s);
    s = installCode(c.state, c.id, wasm);
    ids.push(c.id);
    if ((i + 1) % 2000 === 0) log(`memory: ${i + 1} canisters, ${round((now() - t) / 1000, 1)} s`);
  }
  const installSeconds = (now() - t) / 1000;
  const touched = (st: ExecState) => {
    let heap = 0;
    let stable = 0;
    for (const id of ids) {
      const c = st.canisters.get(id.text)!;
      heap += c.wasm!.heap.touchedCount;
      stable += c.wasm!.stable.touchedCount;
    }
    return { heap_4k_pages_per_canister: round(heap / n, 3), stable_4k_pages_per_canister: round(stable / n, 3) };
  };
  const ingressEntries = s.ingress.size;
  const installed = memNow();
  const touchedInstalled = touched(s);
  // the ingress history dropped (the replica purges it after 5 minutes)
  s = { ...s, ingress: PMap.empty() };
  const installedNoIngress = memNow();
  // one update to each: every canister touches one page; the memo keeps the last 256 live instances
  const t2 = now();
  const sample: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = direct(s, ids[i]!, 'inc', new Uint8Array());
    s = r.state;
    if (i % 500 === 0) sample.push(r.messageId);
  }
  const incSeconds = (now() - t2) / 1000;
  for (const m of sample) replied(s, m);
  const touchedUsed = touched(s);
  s = { ...s, ingress: PMap.empty() };
  const used = memNow();
  // the memo of live instances dropped: what the state alone holds
  for (const id of ids) dropLive(id.text);
  const usedNoMemo = memNow();
  const ids0 = ids[0]!;
  if (readU32(queryReply(s, ids0, 'get', new Uint8Array())) !== 1n) throw new Error('memory: canister 0 should count 1');
  dropLive(ids0.text);
  const res = {
    canisters: n,
    create_and_install_seconds: round(installSeconds, 2),
    create_and_install_per_sec: Math.round(n / installSeconds),
    one_inc_each_seconds: round(incSeconds, 2),
    one_inc_each_us_per_message_cold_instance: round((incSeconds * 1e6) / n, 1),
    ingress_history_entries_after_install: ingressEntries,
    baseline: { heap_used_mb: MB(base.heapUsed), heap_total_mb: MB(base.heapTotal), external_mb: MB(base.external), rss_mb: MB(base.rss) },
    installed_idle: {
      ...touchedInstalled,
      with_ingress_history: perCanister(installed, base, n),
      without_ingress_history: perCanister(installedNoIngress, base, n),
      total_heap_used_mb: MB(installedNoIngress.heapUsed),
      total_heap_total_mb: MB(installedNoIngress.heapTotal),
      total_rss_mb: MB(installedNoIngress.rss),
    },
    after_one_inc_each: {
      ...touchedUsed,
      without_ingress_history: perCanister(used, base, n),
      total_heap_used_mb: MB(used.heapUsed),
      total_heap_total_mb: MB(used.heapTotal),
      total_rss_mb: MB(used.rss),
      live_instance_memo_dropped: perCanister(usedNoMemo, base, n),
      live_instance_memo: {
        instances: Math.min(256, n),
        heap_used_mb: MB(used.heapUsed - usedNoMemo.heapUsed),
        external_mb: MB(used.external - usedNoMemo.external),
        rss_mb: MB(used.rss - usedNoMemo.rss),
        bytes_per_instance_heap_plus_external: Math.round((used.heapUsed + used.external - usedNoMemo.heapUsed - usedNoMemo.external) / Math.min(256, n)),
      },
      note: 'runtime.ts keeps up to 256 live V8 instances (a memo); their Wasm memories are outside the JS heap (external, rss)',
    },
    rss_note: 'rss also holds memory the allocator keeps after the throwaway instances of install and the evicted live instances are freed',
  };
  s = undefined;
  ids.length = 0;
  return res;
};

/** Beyond-touched-pages figure: (heap used + external) per canister − touched pages × 4 KiB. */
const beyondPages = (x: { heap_used_bytes: number; external_bytes: number }, pages: number): number => Math.round(x.heap_used_bytes + x.external_bytes - pages * 4096);

// ---------------------------------------------------------------- environment


// ---------------------------------------------------------------- main

const main = async (): Promise<void> => {
  if (!hasGc) log('warning: global.gc is not exposed (run with --expose-gc); memory figures are not after a forced GC');
  const t0 = now();
  const git0 = gitInfo();
  const timings: Record<string, number> = {};
  const timed = async <T>(name: string, f: () => Promise<T> | T): Promise<T> => {
    const t = now();
    const r = await f();
    timings[name] = round((now() - t) / 1000, 1);
    return r;
  };
  // compile (cached) before anything is timed
  for (const n of ['counter', 'minimal', 'loop', 'bigmem']) await loadCanister(n);

  // 5 first: its baseline is then a process that has run little
  let memory: Awaited<ReturnType<typeof measureMemoryOnce>> | undefined;
  let memoryRuns: Awaited<ReturnType<typeof measureMemoryOnce>>[] = [];
  if (ONLY.has('memory'))
    await timed('memory', async () => {
      for (let r = 0; r < MEM_REPS; r++) {
        memoryRuns.push(await measureMemoryOnce(N_CANISTERS));
        gc();
      }
      memory = medianTree(memoryRuns) as typeof memory;
    });

  let counter: ReturnType<typeof measureUpdates> | undefined;
  let minimal: ReturnType<typeof measureUpdates> | undefined;
  let v8Counter: ReturnType<typeof v8Reference> | undefined;
  let v8Minimal: ReturnType<typeof v8Reference> | undefined;
  if (ONLY.has('counter')) counter = await timed('counter', async () => measureUpdates(await counterCase()));
  if (ONLY.has('minimal')) minimal = await timed('minimal', async () => measureUpdates(await minimalCase()));
  if (ONLY.has('v8')) {
    v8Counter = await timed('v8_counter', async () => v8Reference('motoko counter', (await loadCanister('counter')).wasm, true));
    v8Minimal = await timed('v8_minimal', async () => v8Reference('minimal wat', (await loadCanister('minimal')).wasm, false));
  }
  const cycles = ONLY.has('cycles') ? await timed('cycles', measureCycles) : undefined;
  const loop = ONLY.has('loop') ? await timed('loop', measureLoop) : undefined;
  const bigmem = ONLY.has('bigmem') ? await timed('bigmem', measureBigmem) : undefined;

  const targets: { name: string; value: number | undefined; met: boolean | undefined; profiles?: ProfileSummary[] }[] = [];
  /** A target; one that is not met carries profiles of the runs that explain it. */
  const tgt = async (name: string, value: number | undefined, ok: (v: number) => boolean, explain?: () => Promise<ProfileSummary[]>) => {
    const met = value === undefined ? undefined : ok(value);
    targets.push({ name, value, met, ...(met === false && explain ? { profiles: await explain() } : {}) });
  };
  /** One more run of direct updates, about RUN_SECONDS long at the measured rate, under the profiler. */
  const profileUpdates = async (c: UpdateCase, perSec: number | undefined) => {
    const n = Math.max(2000, Math.round((perSec ?? 10_000) * RUN_SECONDS));
    return profileOf(`${n} direct updates: ${c.name}`, () => runUpdates(c, n, 'direct'));
  };
  await tgt('Motoko counter updates through the machine (direct) ≥ 50,000/s', counter?.direct?.per_sec, (v) => v >= 50_000, async () => [await profileUpdates(await counterCase(), counter?.direct?.per_sec)]);
  await tgt('minimal WAT updates through the machine (direct) ≥ 200,000/s', minimal?.direct?.per_sec, (v) => v >= 200_000, async () => [await profileUpdates(await minimalCase(), minimal?.direct?.per_sec)]);
  await tgt('cycles accounting on / off, cost per Motoko counter update ≤ 1.1', cycles?.motoko_counter.ratio_cost_per_message_on_over_off, (v) => v <= 1.1, async () => [
    await profileUpdates(await counterCase(APPLICATION_SUBNET, ' (cycles on)'), cycles?.motoko_counter.on.per_sec),
    await profileUpdates(await counterCase(FREE_SUBNET, ' (cycles off)'), cycles?.motoko_counter.off.per_sec),
  ]);
  await tgt('cycles accounting on / off, cost per minimal WAT update ≤ 1.1', cycles?.minimal_wat.ratio_cost_per_message_on_over_off, (v) => v <= 1.1, async () => [
    await profileUpdates(await minimalCase(APPLICATION_SUBNET, ' (cycles on)'), cycles?.minimal_wat.on.per_sec),
    await profileUpdates(await minimalCase(FREE_SUBNET, ' (cycles off)'), cycles?.minimal_wat.off.per_sec),
  ]);
  await tgt('metered instructions: time ratio instrumented / uninstrumented ≤ 1.5', loop?.ratio_instrumented_over_uninstrumented, (v) => v <= 1.5);
  await tgt('per-message cost at 1 GiB / at 1 page ≤ 1.5', bigmem?.ratio_per_message_1gib_over_1page, (v) => v <= 1.5);
  const idle = memory?.installed_idle;
  const idleBeyond = idle ? beyondPages(idle.without_ingress_history, idle.heap_4k_pages_per_canister) : undefined;
  await tgt('idle installed canister ≤ 20 KB (20,480 bytes) beyond its touched pages (heap used + external, ingress history dropped)', idleBeyond, (v) => v <= 20_480);
  const usedC = memory?.after_one_inc_each;
  const usedBeyond = usedC ? beyondPages(usedC.without_ingress_history, usedC.heap_4k_pages_per_canister) : undefined;

  const out = {
    benchmark: 'icspec execution machine',
    environment: environment(git0),
    parameters: { runs: REPS, warmup_runs_at_least: WARMUP_RUNS, warmup_seconds_at_least: WARMUP_SECONDS, run_seconds: RUN_SECONDS, canisters: N_CANISTERS, memory_runs: MEM_REPS, subnet: 'APPLICATION_SUBNET (update limit 40B, slice 2B)', statistic: 'median of runs' },
    updates: {
      motoko_counter: counter && {
        ...counter,
        v8_alone: v8Counter,
        ratio_v8_alone_over_machine_direct: v8Counter && counter.direct ? round(v8Counter.per_sec / counter.direct.per_sec, 2) : undefined,
        ratio_v8_alone_over_machine_scheduler: v8Counter && counter.scheduler ? round(v8Counter.per_sec / counter.scheduler.per_sec, 2) : undefined,
      },
      minimal_wat: minimal && {
        ...minimal,
        v8_alone: v8Minimal,
        ratio_v8_alone_over_machine_direct: v8Minimal && minimal.direct ? round(v8Minimal.per_sec / minimal.direct.per_sec, 2) : undefined,
      },
    },
    cycles_accounting: cycles,
    metered_instructions: loop,
    big_memory: bigmem,
    idle_canisters: memory && {
      ...memory,
      beyond_touched_pages_bytes_per_canister: { installed_idle: idleBeyond, after_one_inc_each: usedBeyond },
      rss_first_run_bytes_per_canister: memoryRuns[0] && {
        installed_idle: memoryRuns[0].installed_idle.without_ingress_history.rss_bytes,
        after_one_inc_each: memoryRuns[0].after_one_inc_each.without_ingress_history.rss_bytes,
        heap_total_installed_idle: memoryRuns[0].installed_idle.without_ingress_history.heap_total_bytes,
        note: 'rss is meaningful in the first run only: later runs reuse memory the process kept from the first (V8 keeps its grown young generation, up to 3 × --max-semi-space-size, and the allocator its freed blocks)',
      },
      runs: memoryRuns.map((x) => ({ create_and_install_seconds: x.create_and_install_seconds, installed_idle: x.installed_idle.without_ingress_history, after_one_inc_each: x.after_one_inc_each.without_ingress_history })),
    },
    targets,
    all_targets_met: targets.every((t) => t.met === true),
    seconds_by_part: timings,
    total_seconds: round((now() - t0) / 1000, 1),
  };
  memoryRuns = [];
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
};

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
