/**
 * The load generator of `bench/http.ts`, in a process of its own: N clients make C updates each
 * (`inc`), then C queries each (`get`), concurrently, to the counter at the given server.
 *  - `--mode=verifying`: `@dfinity/agent` agents as they come;
 *  - `--mode=agents`: agents that verify each distinct BLS signature once (a memo over
 *    @noble/curves' check: a round's answers share theirs) and skip query signatures;
 *  - `--mode=raw`: what the server sustains, with the least client work: each client sends
 *    ready-made CBOR envelopes (`/api/v3` call and query, anonymous, a nonce each) over a kept-alive
 *    connection, and checks each answer's CBOR: a `replied` status, and for a call a certificate
 *    whose tree holds the request's `replied` status (its BLS signature unchecked).
 * Prints the JSON `{updates, queries}`.
 */
import http from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { decode, encodeWithSelfDescribedTag } from '@dfinity/cbor';
import { isPrincipalError, principalFromText } from '../src/core/principal.js';
import { packageRoot } from '../src/core/root.js';
import { counterIdl } from '../clients/idl.js';
import { lookup, type HashTree } from '../src/http/hash-tree.js';
import { leb128, requestId } from '../src/http/request-id.js';

const argv = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const URL_ = argv.get('url')!;
const AGENTS = Number(argv.get('agents') ?? 50);
const CALLS = Number(argv.get('calls') ?? 20);
const MODE = argv.get('mode') ?? 'agents';
const FAST = MODE === 'agents';

const fromClients = async <T>(name: string): Promise<T> => (await import(pathToFileURL(createRequire(join(packageRoot(), 'clients', 'package.json')).resolve(name)).href)) as T;

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 100) / 100;
};

type Phase = (f: (client: number) => Promise<unknown>) => Promise<unknown>;

/** C calls by each of N clients, concurrently: throughput and latency. */
const phase: Phase = async (f) => {
  const lat: number[] = [];
  let answered = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: AGENTS }, async (_, a) => {
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

/** `--mode=raw`: ready-made envelopes over kept-alive connections. */
const raw = async (): Promise<void> => {
  const canister = principalFromText(argv.get('canister')!);
  if (isPrincipalError(canister)) throw new Error('bad --canister');
  const agent = new http.Agent({ keepAlive: true, maxSockets: AGENTS });
  const { port, hostname } = new URL(URL_);
  const post = (path: string, body: Uint8Array): Promise<{ status: number; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const req = http.request({ agent, host: hostname, port, path, method: 'POST', headers: { 'content-type': 'application/cbor', 'content-length': body.length } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      req.end(body);
    });
  const ANON = Uint8Array.of(4);
  const EMPTY = Uint8Array.of(0x44, 0x49, 0x44, 0x4c, 0, 0);
  let nonce = 0n;
  const envelope = (type: 'call' | 'query', method: string): { id: Uint8Array; bytes: Uint8Array } => {
    const content = { request_type: type, canister_id: canister.bytes, method_name: method, arg: EMPTY, sender: ANON, ingress_expiry: BigInt(Date.now() + 240_000) * 1_000_000n, nonce: leb128(nonce++) };
    return { id: requestId(content) as Uint8Array, bytes: encodeWithSelfDescribedTag({ content } as never) };
  };
  const base = `/api/v3/canister/${canister.text}`;
  const enc = new TextEncoder();
  const updates = await phase(async () => {
    const e = envelope('call', 'inc');
    const r = await post(`${base}/call`, e.bytes);
    const answer = r.status === 200 ? (decode(r.body) as { status?: string; certificate?: Uint8Array }) : undefined;
    if (answer?.status !== 'replied' || answer.certificate === undefined) throw new Error(`call not answered: HTTP ${r.status} ${r.body.toString().slice(0, 200)}`);
    const cert = decode(answer.certificate) as { tree: unknown };
    const st = lookup(hashTreeOf(cert.tree), [enc.encode('request_status'), e.id, enc.encode('status')]);
    if (typeof st !== 'object' || new TextDecoder().decode(st.found) !== 'replied') throw new Error('the certificate does not hold the call\'s replied status');
  });
  const queries = await phase(async () => {
    const r = await post(`${base}/query`, envelope('query', 'get').bytes);
    const answer = r.status === 200 ? (decode(r.body) as { status?: string }) : undefined;
    if (answer?.status !== 'replied') throw new Error(`query not answered: HTTP ${r.status}`);
  });
  process.stdout.write(JSON.stringify({ updates, queries }));
};

/** A decoded CBOR hash tree (`[0]`, `[1, l, r]`, `[2, label, t]`, `[3, v]`, `[4, h]`) as a `HashTree`. */
const hashTreeOf = (t: unknown): HashTree => {
  const a = t as [number, ...unknown[]];
  switch (a[0]) {
    case 1:
      return { kind: 'fork', left: hashTreeOf(a[1]), right: hashTreeOf(a[2]) };
    case 2:
      return { kind: 'labeled', label: a[1] as Uint8Array, tree: hashTreeOf(a[2]) };
    case 3:
      return { kind: 'leaf', value: a[1] as Uint8Array };
    case 4:
      return { kind: 'pruned', hash: a[1] as Uint8Array };
    default:
      return { kind: 'empty' };
  }
};

const main = async (): Promise<void> => {
  if (MODE === 'raw') return raw();
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
  const updates = await phase((a) => actors[a]!.inc());
  const queries = await phase((a) => actors[a]!.get());
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
