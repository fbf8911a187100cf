/**
 * The load generator of `bench/http.ts`, in a process of its own: N `@dfinity/agent` agents make
 * C updates each (`inc`), then C queries each (`get`), concurrently, to the counter at the given
 * server. `--mode=verifying`: the agents as they come; `--mode=server`: each distinct BLS
 * signature verified once (a memo over @noble/curves' check: a round's answers share theirs) and
 * query signatures not checked. Prints the JSON `{updates, queries}`.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { packageRoot } from '../src/core/root.js';

const argv = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const URL_ = argv.get('url')!;
const AGENTS = Number(argv.get('agents') ?? 50);
const CALLS = Number(argv.get('calls') ?? 20);
const FAST = argv.get('mode') === 'server';

const fromClients = async <T>(name: string): Promise<T> => (await import(pathToFileURL(createRequire(join(packageRoot(), 'clients', 'package.json')).resolve(name)).href)) as T;

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 100) / 100;
};

const main = async (): Promise<void> => {
  const { HttpAgent, Actor } = await fromClients<{ HttpAgent: { create(o: object): Promise<unknown> }; Actor: { createActor(i: unknown, o: object): unknown } }>('@dfinity/agent');
  const { Principal } = await fromClients<{ Principal: { fromText(t: string): unknown } }>('@dfinity/principal');
  const seen = new Map<string, boolean>();
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  const memoVerify = (pk: Uint8Array, sig: Uint8Array, msg: Uint8Array): boolean => {
    const k = hex(pk) + hex(sig) + hex(msg);
    let ok = seen.get(k);
    if (ok === undefined) seen.set(k, (ok = bls12_381.shortSignatures.verify(sig, bls12_381.shortSignatures.hash(msg), pk)));
    return ok;
  };
  type I = { Service(f: object): unknown; Func(a: unknown[], r: unknown[], m: string[]): unknown; Nat: unknown };
  const counterIdl = ({ IDL: X }: { IDL: I }): unknown => X.Service({ inc: X.Func([], [], []), get: X.Func([], [X.Nat], ['query']) });
  type Counter = { inc(): Promise<void>; get(): Promise<bigint> };
  const actors = await Promise.all(
    Array.from({ length: AGENTS }, async () =>
      Actor.createActor(counterIdl, {
        agent: await HttpAgent.create({ host: URL_, shouldFetchRootKey: true, ...(FAST ? { verifyQuerySignatures: false } : {}) }),
        canisterId: Principal.fromText(argv.get('canister')!),
        ...(FAST ? { blsVerify: memoVerify } : {}),
      }) as Counter,
    ),
  );
  const phase = async (f: (a: Counter) => Promise<unknown>) => {
    const lat: number[] = [];
    let answered = 0;
    const t0 = performance.now();
    await Promise.all(
      actors.map(async (a) => {
        for (let k = 0; k < CALLS; k++) {
          const t = performance.now();
          await f(a);
          lat.push(performance.now() - t);
          answered++;
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    return { calls: AGENTS * CALLS, answered, seconds: Math.round(seconds * 100) / 100, per_sec: Math.round((AGENTS * CALLS) / seconds), latency_ms: { p50: pct(lat, 50), p99: pct(lat, 99), max: pct(lat, 100) } };
  };
  const updates = await phase((a) => a.inc());
  const queries = await phase((a) => a.get());
  process.stdout.write(JSON.stringify({ updates, queries }));
};

// (the agents keep connections and timers alive: the benchmark ends when its report is written)
main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
