/**
 * Load on `icspec serve` (`npm run bench:http`; part of `npm run bench`): N concurrent clients
 * make C update calls and C query calls each to the Motoko counter. Every call must be answered
 * once: the counter must end at N · C more. The clients run in a load generator process of their
 * own (bench/http-load.ts); the machine's cores are shared by it and the server. Three runs:
 *  - `raw`: what the server sustains. Each client sends ready-made CBOR envelopes over a
 *    kept-alive connection and checks the answers' CBOR (a call's certificate must hold its
 *    `replied` status) but not their BLS signatures: the least client work per call;
 *  - `agents`: `@dfinity/agent` agents that verify each distinct BLS signature once (a memo over
 *    @noble/curves' check: the answers of one round share one signature) and skip query
 *    signatures;
 *  - `verifying`: the agents as they come, verifying every certificate (BLS, tens of ms each in
 *    JS) and every query signature: what an application sees end to end.
 * Prints ONE JSON object: calls per second, latency percentiles, and the server's rounds, against
 * the targets (≥ 1,000 updates/s, ≥ 5,000 queries/s, judged on the `raw` run).
 *
 * Options: --agents=50 --calls=20 (the load is --calls=100) --modes=raw,agents,verifying
 * --round-gap=<ms> (the server's least time between rounds)
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../src/core/root.js';
import { DEFAULT_ROUND_GAP_MS, serve } from '../src/http/server.js';
import { loadCanister } from '../src/toolchain/compile.js';
import { environment, gitInfo } from './env.js';
import { profileOf } from './profile.js';
import { counterIdl, managementIdl } from '../clients/idl.js';

const argv = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const AGENTS = Number(argv.get('agents') ?? 50);
const CALLS = Number(argv.get('calls') ?? 20);
const ROUND_GAP = argv.has('round-gap') ? Number(argv.get('round-gap')) : undefined;
const MODES = (argv.get('modes') ?? 'raw,agents,verifying').split(',').filter((m) => ['raw', 'agents', 'verifying'].includes(m));

/** The real clients live in clients/ (their own dependency tree). */
const fromClients = async <T>(name: string): Promise<T> => (await import(pathToFileURL(createRequire(join(packageRoot(), 'clients', 'package.json')).resolve(name)).href)) as T;

type Agentish = { call: unknown };
interface AgentModule {
  HttpAgent: { create(o: Record<string, unknown>): Promise<Agentish> };
  Actor: { createActor(idl: unknown, o: Record<string, unknown>): unknown };
}
interface PrincipalModule {
  Principal: { managementCanister(): unknown; fromText(t: string): unknown };
}

const main = async (): Promise<void> => {
  const git0 = gitInfo();
  const { HttpAgent, Actor } = await fromClients<AgentModule>('@dfinity/agent');
  const { Principal } = await fromClients<PrincipalModule>('@dfinity/principal');
  // rounds: how many, how many calls each answered, and the time spent certifying
  const rounds = { count: 0, answered: 0, busyMs: 0, certifyMs: 0 };
  const srv = await serve({
    seed: 'load',
    ...(ROUND_GAP !== undefined ? { roundGapMs: ROUND_GAP } : {}),
    onRound: (r) => {
      rounds.count++;
      rounds.answered += r.answered;
      rounds.busyMs += r.ms;
      rounds.certifyMs += r.certifyMs;
    },
  });
  const wasm = (await loadCanister('counter')).wasm;
  const admin = await HttpAgent.create({ host: srv.url, shouldFetchRootKey: true });
  const ic = Actor.createActor(managementIdl, {
    agent: admin,
    canisterId: Principal.managementCanister(),
    callTransform: (_m: string, args: unknown[]) => ({ effectiveCanisterId: (args[0] as { canister_id?: unknown }).canister_id ?? Principal.fromText('rwlgt-iiaaa-aaaaa-aaaaa-cai') }),
  }) as { provisional_create_canister_with_cycles(a: unknown): Promise<{ canister_id: unknown }>; install_code(a: unknown): Promise<void> };
  const { canister_id } = await ic.provisional_create_canister_with_cycles({ amount: [10n ** 15n], settings: [], specified_id: [], sender_canister_version: [] });
  await ic.install_code({ mode: { install: null }, canister_id, wasm_module: wasm, arg: new Uint8Array([0x44, 0x49, 0x44, 0x4c, 0, 0]), sender_canister_version: [] });
  // the agents run in another process (the load generator, bench/http-load.ts), so that the
  // server has this one to itself
  const runs: Record<string, unknown> = {};
  let expected = 0n;
  const reader = Actor.createActor(counterIdl, { agent: admin, canisterId: canister_id }) as { get(): Promise<bigint> };
  const load = async (mode: string) => {
    const text = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [join(packageRoot(), 'dist', 'bench', 'http-load.js'), `--url=${srv.url}`, `--canister=${(canister_id as { toText(): string }).toText()}`, `--agents=${AGENTS}`, `--calls=${CALLS}`, `--mode=${mode}`], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`the load generator exited with ${code}`))));
    });
    expected += BigInt(AGENTS * CALLS);
    const count = await reader.get();
    if (count !== expected) throw new Error(`the counter is ${count}, not ${expected}: a call was lost or answered twice`);
    return { r: JSON.parse(text) as Record<string, unknown>, count };
  };
  for (const mode of MODES) {
    process.stderr.write(`[bench:http] ${mode}: ${AGENTS} agents × ${CALLS} updates, then queries (load generator in another process)\n`);
    Object.assign(rounds, { count: 0, answered: 0, busyMs: 0, certifyMs: 0 });
    const { r, count } = await load(mode);
    runs[mode] = {
      ...r,
      count_after: count.toString(),
      rounds: { count: rounds.count, sync_calls_answered_per_round: Math.round((rounds.answered / Math.max(1, rounds.count)) * 10) / 10, busy_ms: Math.round(rounds.busyMs), certify_ms: Math.round(rounds.certifyMs) },
    };
  }
  const server = (runs['raw'] ?? { updates: { per_sec: 0 }, queries: { per_sec: 0 } }) as { updates: { per_sec: number }; queries: { per_sec: number } };
  const updatesMet = server.updates.per_sec >= 1000;
  const queriesMet = server.queries.per_sec >= 5000;
  // a target that is not met carries a profile of this process (the server; the BLS signer is a
  // worker thread, outside it) during one more raw run
  const profile = MODES.includes('raw') && !(updatesMet && queriesMet) ? await profileOf(`the server during one more raw run (${AGENTS} agents × ${CALLS} updates, then queries)`, () => load('raw')) : undefined;
  const explain = (met: boolean) => (met || profile === undefined ? {} : { profiles: [profile] });
  const targets = [
    { name: 'update calls/s the server sustains (raw run: ready-made envelopes, certificates read but not BLS-verified) ≥ 1,000', value: server.updates.per_sec, met: updatesMet, ...explain(updatesMet) },
    { name: 'query calls/s the server sustains (raw run) ≥ 5,000', value: server.queries.per_sec, met: queriesMet, ...explain(queriesMet) },
  ];
  process.stdout.write(
    `${JSON.stringify({ benchmark: 'icspec serve under load', environment: environment(git0), parameters: { agents: AGENTS, calls_per_agent: CALLS, round_gap_ms: ROUND_GAP ?? DEFAULT_ROUND_GAP_MS, client: '@dfinity/agent 3.4.3' }, ...runs, targets }, null, 2)}\n`,
  );
};

// (the agents keep connections and timers alive: the benchmark ends when its report is written)
main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
