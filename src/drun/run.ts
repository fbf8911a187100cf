/**
 * Runs a drun script against the execution machine and prints what DFINITY's drun-script
 * runners print ([EXE-DRUN-RUN.1]):
 *
 * - `create`: a provisional canister with 10^15 cycles, controlled by the anonymous principal
 *   and by itself, with the next id of the subnet's range (`rwlgt-iiaaa-aaaaa-aaaaa-cai` first);
 * - every command is sent by the anonymous principal; an ingress message (install included)
 *   runs round by round with time advancing 1 s per round until it completes;
 * - output lines: `ingress Completed: Reply: 0x…`, `ingress Completed: Reject: …` (the canister
 *   rejected), `ingress Err: IC0xxx: …` (the system did), `Ok: Reply: 0x…`, `Ok: Reject: …`,
 *   `Err: IC0xxx: …` for queries, and `debug.print: …` lines before the result they belong to.
 *
 * This is a runner, not the spec: it uses the default scheduler.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { IDL } from '@dfinity/candid';
import * as E from 'fp-ts/lib/Either.js';
import { toHex } from '../core/bytes.js';
import { ANONYMOUS, MANAGEMENT_CANISTER, canisterId, type Principal } from '../core/principal.js';
import { toDfinity } from '../execution/candid.js';
import { DEFAULT_SUBNET_SIZE, subnetConfig } from '../execution/config.js';
import type { SubnetKind } from '../cycles/table.js';
import { installCodeArg } from '../execution/machine.js';
import { query, submitIngress } from '../execution/rules.js';
import { some, variant, type ItfValue } from '../trace/itf.js';
import type { RecordedAction } from '../trace/replay.js';
import { runRound, type RoundEvent } from '../execution/scheduler.js';
import { emptyState, type ExecState } from '../execution/state.js';
import { parseLine, type DrunCommand } from './parse.js';

/** PocketIC's genesis time, where the drun-script runners start: 2021-05-06 19:17:10 UTC. */
export const DRUN_START_TIME = 1_620_328_630_000_000_000n;
export const ROUND_NANOS = 1_000_000_000n;
export const DRUN_CYCLES = 1_000_000_000_000_000n;
/** drun's bound on the rounds an ingress message may take. */
export const MAX_ROUNDS = 100_000;

export interface DrunOptions {
  /** where relative Wasm paths are resolved (after the working directory) */
  readonly baseDir: string;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /**
   * Record every rule application as a trace action; Wasm modules are referenced by path
   * relative to this directory (where the trace will be written) and SHA-256.
   */
  readonly recordDir?: string;
  /** called before each line runs (a progress display) */
  readonly progress?: (line: number, lines: number) => void;
  /** the subnet: a system subnet of 13 nodes (no fees) unless asked ([CYC-SYSTEM-FREE.1]) */
  readonly subnet?: SubnetKind;
  readonly subnetSize?: bigint;
}

export interface DrunResult {
  readonly state: ExecState;
  /** 0: every line ran; 2: some line was bad input */
  readonly exitCode: 0 | 2;
  /** the initial state's arguments and every rule applied, when recording */
  readonly init: ItfValue;
  readonly actions: RecordedAction[];
  /** InstallCode actions (by index) whose module the trace names by path and SHA-256 */
  readonly moduleRefs: ReadonlyMap<number, { readonly path: string; readonly sha256: string }>;
}

const createArgs = IDL.Record({
  amount: IDL.Opt(IDL.Nat),
  settings: IDL.Opt(IDL.Record({ controllers: IDL.Opt(IDL.Vec(IDL.Principal)) })),
  specified_id: IDL.Opt(IDL.Principal),
  sender_canister_version: IDL.Opt(IDL.Nat64),
});

/** Whether a module declares enhanced orthogonal persistence (drun then upgrades with `keep`). */
const declaresEop = (wasm: Uint8Array): boolean => {
  try {
    return WebAssembly.Module.customSections(new WebAssembly.Module(wasm as BufferSource), 'icp:private enhanced-orthogonal-persistence').length > 0;
  } catch {
    return false;
  }
};

export const runDrun = (script: string, opts: DrunOptions, initial?: ExecState): DrunResult => {
  const kind = opts.subnet ?? 'system';
  const size = opts.subnetSize ?? DEFAULT_SUBNET_SIZE;
  let s = initial ?? emptyState(subnetConfig(kind, size), DRUN_START_TIME);
  let exit: 0 | 2 = 0;
  const actions: RecordedAction[] = [];
  const moduleRefs = new Map<number, { path: string; sha256: string }>();
  const rec = (tag: string, args: ItfValue): void => {
    if (opts.recordDir !== undefined) actions.push({ tag, args });
  };
  const printEvent = (e: RoundEvent): void => {
    for (const p of e.report.debugPrints) opts.out(`debug.print: ${p}`);
    if (e.rule === 'AdvanceTime' || e.rule === 'ChargeResources') rec(e.rule, { now: e.now });
    else if (e.rule === 'Execute') rec('Execute', { message: BigInt(e.message) });
    else if (e.rule === 'Certify') rec('Certify', {});
    else if (e.rule === 'ExpireCallback') rec('ExpireCallback', { callback: BigInt(e.callback) });
    else rec(e.rule, { canister: e.canister.text });
  };

  // the time of the next round: as the test runner ticks, each round is one second after the last
  let clock = s.time;
  /** Submit an ingress message (already recorded) and run rounds until it completes; print its result line. */
  const await_ = (id: string): void => {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      s = runRound(s, clock, printEvent);
      clock += ROUND_NANOS;
      const st = s.ingress.get(id)!;
      if (st.status === 'replied') return opts.out(`ingress Completed: Reply: 0x${toHex(st.reply)}`);
      if (st.status === 'rejected') {
        return opts.out(st.errorCode === '' ? `ingress Completed: Reject: ${st.message}` : `ingress Err: ${st.errorCode}: ${st.message}`);
      }
    }
    opts.err(`error: ingress message did not finish executing within ${MAX_ROUNDS} rounds`);
    exit = 2;
  };

  const ingress = (callee: Principal, method: string, arg: Uint8Array): void => {
    const r = submitIngress(s, { sender: ANONYMOUS, canister: callee, method, arg });
    if (E.isLeft(r)) {
      // refused at induction (an out-of-cycles canister, [CYC-INGRESS.1]): drun prints the error, the trace keeps the refusal
      const e = r.left;
      if (e.kind === 'Rejected' && e.error.code === 'CanisterOutOfCycles') {
        rec('SubmitIngress', { sender: ANONYMOUS.text, canister: callee.text, method, arg: toHex(arg) });
        return opts.out(`ingress Err: IC0207: ${e.error.message}`);
      }
      return;
    }
    s = r.right.state;
    rec('SubmitIngress', { sender: ANONYMOUS.text, canister: callee.text, method, arg: toHex(arg), message_id: some(r.right.output.messageId) });
    await_(r.right.output.messageId);
  };

  const readWasm = (file: string, line: number): { bytes: Uint8Array; path: string } | undefined => {
    const candidates = isAbsolute(file) ? [file] : [resolve(file), resolve(opts.baseDir, file)];
    const path = candidates.find((p) => existsSync(p));
    if (path === undefined) {
      opts.err(`error: Line ${line}: Could not open wasm file: ${file} - Error: No such file or directory`);
      exit = 2;
      return undefined;
    }
    return { bytes: new Uint8Array(readFileSync(path)), path };
  };

  const runCommand = (c: DrunCommand): void => {
    switch (c.kind) {
      case 'create': {
        const next = canisterId(s.nextCanister);
        const arg = IDL.encode([createArgs], [{ amount: [DRUN_CYCLES], settings: [{ controllers: [[toDfinity(ANONYMOUS), toDfinity(next)]] }], specified_id: [], sender_canister_version: [] }]);
        return ingress(MANAGEMENT_CANISTER, 'provisional_create_canister_with_cycles', new Uint8Array(arg));
      }
      case 'install':
      case 'reinstall':
      case 'upgrade': {
        const file = readWasm(c.wasmFile, c.line);
        if (file === undefined) return;
        const mode = c.kind === 'upgrade' ? (declaresEop(file.bytes) ? 'upgrade_keep' : 'upgrade') : c.kind;
        const a = { sender: ANONYMOUS, canister: c.canister, mode, wasm: file.bytes, arg: c.payload } as const;
        const r = submitIngress(s, { sender: ANONYMOUS, canister: MANAGEMENT_CANISTER, method: 'install_code', arg: installCodeArg(a) });
        if (E.isLeft(r)) return;
        s = r.right.state;
        if (opts.recordDir !== undefined) {
          const rel = relative(opts.recordDir, file.path);
          if (!isAbsolute(rel)) moduleRefs.set(actions.length, { path: rel.split('\\').join('/'), sha256: toHex(sha256(file.bytes)) });
          rec('InstallCode', { sender: ANONYMOUS.text, canister: c.canister.text, mode, wasm: variant('Inline', toHex(file.bytes)), arg: toHex(c.payload), message_id: some(r.right.output.messageId) });
        }
        return await_(r.right.output.messageId);
      }
      case 'ingress':
        return ingress(c.canister, c.method, c.payload);
      case 'query': {
        const r = query(s, { sender: ANONYMOUS, canister: c.canister, method: c.method, arg: c.payload });
        if (E.isLeft(r)) return;
        const o = r.right.output;
        for (const p of o.report.debugPrints) opts.out(`debug.print: ${p}`);
        rec('Query', { sender: ANONYMOUS.text, canister: c.canister.text, method: c.method, arg: toHex(c.payload) });
        if (o.kind === 'reply') return opts.out(`Ok: Reply: 0x${toHex(o.data)}`);
        return opts.out(o.errorCode === '' ? `Ok: Reject: ${o.message}` : `Err: ${o.errorCode}: ${o.message}`);
      }
    }
  };

  const lines = script.split('\n');
  lines.forEach((text, i) => {
    opts.progress?.(i + 1, lines.length);
    const c = parseLine(text, i + 1);
    if (c === undefined) return;
    if ('message' in c) {
      // [EXE-DRUN-BAD-LINE.1] a bad line is reported with its number; the rest still runs
      opts.err(`error: ${c.message}`);
      exit = 2;
      return;
    }
    runCommand(c);
  });
  return { state: s, exitCode: exit, init: { time: some(DRUN_START_TIME), subnet: some(kind), subnet_size: some(size) }, actions, moduleRefs };
};
