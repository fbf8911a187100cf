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
import { isAbsolute, resolve } from 'node:path';
import { IDL } from '@dfinity/candid';
import * as E from 'fp-ts/lib/Either.js';
import { toHex } from '../core/bytes.js';
import { ANONYMOUS, MANAGEMENT_CANISTER, canisterId, type Principal } from '../core/principal.js';
import { toDfinity } from '../execution/candid.js';
import { APPLICATION_SUBNET } from '../execution/config.js';
import { query, submitIngress } from '../execution/rules.js';
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
  /** every rule application, for recording a trace */
  readonly onStep?: (e: { readonly kind: string; readonly state: ExecState; readonly detail: unknown }) => void;
}

export interface DrunResult {
  readonly state: ExecState;
  /** 0: every line ran; 2: some line was bad input */
  readonly exitCode: 0 | 2;
}

const installArgs = IDL.Record({
  mode: IDL.Variant({
    install: IDL.Null,
    reinstall: IDL.Null,
    upgrade: IDL.Opt(IDL.Record({ skip_pre_upgrade: IDL.Opt(IDL.Bool), wasm_memory_persistence: IDL.Opt(IDL.Variant({ keep: IDL.Null, replace: IDL.Null })) })),
  }),
  canister_id: IDL.Principal,
  wasm_module: IDL.Vec(IDL.Nat8),
  arg: IDL.Vec(IDL.Nat8),
  sender_canister_version: IDL.Opt(IDL.Nat64),
});
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
  let s = initial ?? emptyState(APPLICATION_SUBNET, DRUN_START_TIME);
  let exit: 0 | 2 = 0;
  const printEvent = (e: RoundEvent): void => {
    for (const p of e.report.debugPrints) opts.out(`debug.print: ${p}`);
  };

  /** Submit an ingress message and run rounds until it completes; print its result line. */
  const ingress = (callee: Principal, method: string, arg: Uint8Array): void => {
    const r = submitIngress(s, { sender: ANONYMOUS, canister: callee, method, arg });
    if (E.isLeft(r)) return;
    s = r.right.state;
    const id = r.right.output.messageId;
    opts.onStep?.({ kind: 'SubmitIngress', state: s, detail: { callee: callee.text, method, arg: toHex(arg) } });
    for (let round = 0; round < MAX_ROUNDS; round++) {
      s = runRound(s, s.time, printEvent);
      opts.onStep?.({ kind: 'Round', state: s, detail: { time: s.time } });
      const st = s.ingress.get(id)!;
      if (st.status === 'replied') return opts.out(`ingress Completed: Reply: 0x${toHex(st.reply)}`);
      if (st.status === 'rejected') {
        return opts.out(st.errorCode === '' ? `ingress Completed: Reject: ${st.message}` : `ingress Err: ${st.errorCode}: ${st.message}`);
      }
      s = { ...s, time: s.time + ROUND_NANOS };
    }
    opts.err(`error: ingress message did not finish executing within ${MAX_ROUNDS} rounds`);
    exit = 2;
  };

  const readWasm = (file: string, line: number): Uint8Array | undefined => {
    const candidates = isAbsolute(file) ? [file] : [resolve(file), resolve(opts.baseDir, file)];
    const path = candidates.find((p) => existsSync(p));
    if (path === undefined) {
      opts.err(`error: Line ${line}: Could not open wasm file: ${file} - Error: No such file or directory`);
      exit = 2;
      return undefined;
    }
    return new Uint8Array(readFileSync(path));
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
        const wasm = readWasm(c.wasmFile, c.line);
        if (wasm === undefined) return;
        const mode =
          c.kind === 'upgrade'
            ? { upgrade: [{ skip_pre_upgrade: [], wasm_memory_persistence: declaresEop(wasm) ? [{ keep: null }] : [] }] }
            : { [c.kind]: null };
        const arg = IDL.encode([installArgs], [{ mode, canister_id: toDfinity(c.canister), wasm_module: wasm, arg: c.payload, sender_canister_version: [] }]);
        return ingress(MANAGEMENT_CANISTER, 'install_code', new Uint8Array(arg));
      }
      case 'ingress':
        return ingress(c.canister, c.method, c.payload);
      case 'query': {
        const r = query(s, { sender: ANONYMOUS, canister: c.canister, method: c.method, arg: c.payload });
        if (E.isLeft(r)) return;
        const o = r.right.output;
        for (const p of o.report.debugPrints) opts.out(`debug.print: ${p}`);
        opts.onStep?.({ kind: 'Query', state: s, detail: { callee: c.canister.text, method: c.method } });
        if (o.kind === 'reply') return opts.out(`Ok: Reply: 0x${toHex(o.data)}`);
        return opts.out(o.errorCode === '' ? `Ok: Reject: ${o.message}` : `Err: ${o.errorCode}: ${o.message}`);
      }
    }
  };

  script.split('\n').forEach((text, i) => {
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
  return { state: s, exitCode: exit };
};
