/**
 * `icspec serve`: the IC's HTTP interface over the execution machine ([HTTP-SERVE.1]). The server
 * is the one place of `src/http` that reads the wall clock: the machine's time follows it, so that
 * clients accept the certified time.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { encodeWithSelfDescribedTag } from '@dfinity/cbor';
import * as E from 'fp-ts/lib/Either.js';
import { toHex } from '../core/bytes.js';
import { MANAGEMENT_CANISTER, isPrincipalError, principalFromText, type Principal } from '../core/principal.js';
import type { SubnetKind } from '../cycles/table.js';
import { subnetConfig } from '../execution/config.js';
import { advanceTime, query, submitIngress } from '../execution/rules.js';
import { runRound } from '../execution/scheduler.js';
import { emptyState, type ExecState, type IngressStatus } from '../execution/state.js';
import { encodeCertificate, signResponse, signRoot, subnetKeys, type SubnetKeys } from './certificate.js';
import { rootSigner } from './signer.js';
import { readEnvelope, type HttpRefusal, type HttpRequest, type RequestType } from './envelope.js';
import { stateHash, witness, type StateTree } from './hash-tree.js';
import { nodeIdOf, path, stateTree, subnetIdOf } from './state-tree.js';

export interface ServeOptions {
  readonly port?: number;
  readonly host?: string;
  /** the seed of the root and node keys: the same seed, the same root key */
  readonly seed?: string;
  readonly subnet?: SubnetKind;
  /** the largest body accepted, in bytes */
  readonly maxBody?: number;
  /**
   * the least time from the end of one round to the start of the next, in ms (default 10): calls
   * that arrive meanwhile share the next round, its execution and its one BLS signature
   */
  readonly roundGapMs?: number;
  /**
   * serve this machine instead of a new one of its own: its state (read and written in place) and
   * its subnet's keys
   */
  readonly machine?: {
    readonly cell: { s: ExecState };
    readonly keys: SubnetKeys;
    /** run one round of the machine its own way (default: the default scheduler at the wall clock) */
    readonly round?: () => void;
  };
  /** sign state roots on the main thread instead of a worker (as fast alone; slower under load) */
  readonly signInPlace?: boolean;
  /** told after each round: how long it took, and how many waiting calls it answered (for benchmarks) */
  readonly onRound?: (r: { readonly ms: number; readonly answered: number; readonly certifyMs: number }) => void;
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly rootKey: Uint8Array;
  /** the machine's state now (for tests and tools) */
  readonly state: () => ExecState;
  readonly close: () => Promise<void>;
}

/** The replica's limit on an HTTP request body (5 MiB) ([HTTP-SERVE.1]). */
export const MAX_BODY = 5 * 1024 * 1024;
/** The default least time between rounds, in ms ([HTTP-SERVE.1]). */
export const DEFAULT_ROUND_GAP_MS = 10;
/** Rounds a synchronous call waits for its message to complete. */
const SYNC_ROUNDS = 100;

const wallNanos = (): bigint => BigInt(Date.now()) * 1_000_000n;

const cbor = (v: unknown): Uint8Array => encodeWithSelfDescribedTag(v as never);

type Out = { readonly status: number; readonly body?: unknown };

const ROUTE = /^\/api\/(v2|v3|v4)\/(canister|subnet)\/([^/]+)\/(call|query|read_state)$/;

/** Start the server; it listens until `close`. */
export const serve = (opts: ServeOptions = {}): Promise<RunningServer> => {
  const keys: SubnetKeys = opts.machine?.keys ?? subnetKeys(opts.seed ?? 'icspec', 4);
  const sid = subnetIdOf(keys);
  const node = keys.nodes[0]!;
  const nodeId = nodeIdOf(node.publicKeyDer).bytes;
  // the machine served: the server's own, or one it shares (a PocketIC instance behind its gateway)
  const cell: { s: ExecState } = opts.machine?.cell ?? { s: emptyState(subnetConfig(opts.subnet ?? 'application'), wallNanos()) };
  // who sent each call, and to which effective canister: only they may read its status
  const senders = new Map<string, { readonly sender: string; readonly effective: string }>();
  const maxBody = opts.maxBody ?? MAX_BODY;

  /** The machine's time follows the wall clock (it moves at rounds only). */
  const clock = (): bigint => {
    const now = wallNanos();
    if (now > cell.s.time) {
      const r = advanceTime(cell.s, { now });
      if (E.isRight(r)) cell.s = r.right.state;
    }
    return cell.s.time;
  };

  // [HTTP-CERTIFICATE.1] the state is certified once per round: the tree and the signature of its
  // root; each answer carries its own witness of that tree and the shared signature. A round's
  // root is signed in a worker while the next round runs; `certified` is the newest signed tree.
  type Signed = { readonly tree: StateTree; readonly signature: Uint8Array };
  const first = stateTree(cell.s, keys, cell.s.time);
  let certified: Signed = { tree: first, signature: signRoot(keys, stateHash(first)) };
  const signer = rootSigner(keys, opts.signInPlace ?? false);
  const certificate = (c: Signed, paths: readonly (readonly Uint8Array[])[]): Uint8Array => encodeCertificate({ tree: witness(c.tree, [path('time'), ...paths]), signature: c.signature });

  const statusOf = (id: Uint8Array): IngressStatus | undefined => cell.s.ingress.get(toHex(id));
  const done = (st: IngressStatus | undefined): boolean => st !== undefined && (st.status === 'replied' || st.status === 'rejected' || st.status === 'done');

  // [HTTP-SERVE.1] rounds: as soon as there is work, and every second when idle (so that the
  // certified time stays fresh); synchronous calls wait for the round that finishes them
  type Waiter = { readonly id: Uint8Array; left: number; readonly resolve: (o: Out) => void };
  const waiters: Waiter[] = [];
  let next: NodeJS.Timeout | undefined;
  const gap = opts.roundGapMs ?? DEFAULT_ROUND_GAP_MS;
  let lastEnd = 0;
  // the state last certified: a shared machine's own rounds are certified at the next idle tick
  let certifiedState: ExecState | undefined;
  const round = (execute = true): void => {
    next = undefined;
    const t0 = performance.now();
    if (execute) {
      // a shared machine runs its rounds its own way (a PocketIC instance: its time, its progress)
      if (opts.machine?.round !== undefined) opts.machine.round();
      else cell.s = runRound(cell.s, clock());
    }
    certifiedState = cell.s;
    const t1 = performance.now();
    const tree = stateTree(cell.s, keys, cell.s.time);
    const root = stateHash(tree);
    const t2 = performance.now();
    // the calls this round finished are answered with its certificate, once signed
    const finished: Waiter[] = [];
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]!;
      w.left--;
      if (done(statusOf(w.id))) finished.push(w);
      else if (w.left > 0) continue;
      else w.resolve({ status: 202 });
      waiters.splice(i, 1);
    }
    void signer.sign(root).then((signature) => {
      const c = { tree, signature };
      certified = c;
      for (const w of finished) w.resolve({ status: 200, body: { status: 'replied', certificate: certificate(c, [path('request_status', w.id)]) } });
    });
    lastEnd = performance.now();
    opts.onRound?.({ ms: lastEnd - t0, answered: finished.length, certifyMs: t2 - t1 });
    if (waiters.length > 0 || cell.s.messages.size > 0) schedule();
  };
  const schedule = (): void => {
    next ??= setTimeout(round, Math.max(0, lastEnd + gap - performance.now()));
  };
  // idle: a round every second keeps the certified time fresh; a shared machine is not moved,
  // only its changes since the last certificate are certified
  let idle: NodeJS.Timeout | undefined;
  const startIdle = (): void => {
    idle = setInterval(() => {
      if (next !== undefined) return;
      if (opts.machine === undefined) round();
      else if (cell.s !== certifiedState) round(false);
    }, 1000);
    idle.unref();
  };

  const handleCall = (req: Extract<HttpRequest, { method: string }>, effective: Principal, version: string): Out | Promise<Out> => {
    const r = submitIngress(cell.s, {
      sender: req.sender,
      canister: req.canister,
      method: req.method,
      arg: req.arg,
      messageId: toHex(req.id),
      expiry: req.expiry,
      ...(req.canister.text === MANAGEMENT_CANISTER.text ? { effectiveCanisterId: effective } : {}),
      ...(req.nonce !== undefined ? { nonce: req.nonce } : {}),
    });
    if (E.isLeft(r)) {
      const f = r.left;
      if (f.kind === 'NotEnabled') return { status: 202 }; // already submitted: a replay
      const e = f.error;
      if (e.code === 'InvalidIngressExpiry' || e.code === 'InvalidEffectiveCanisterId') return { status: 400, body: e.message };
      // [HTTP-SERVE.1] refused at induction: a non-replicated rejection
      const rej = { reject_code: 2, reject_message: e.message, error_code: 'IC0207' };
      return { status: 200, body: version === 'v2' ? rej : { status: 'non_replicated_rejection', ...rej } };
    }
    cell.s = r.right.state;
    senders.set(toHex(req.id), { sender: req.sender.text, effective: effective.text });
    schedule();
    if (version === 'v2') return { status: 202 };
    return new Promise((resolve) => waiters.push({ id: req.id, left: SYNC_ROUNDS, resolve }));
  };

  const handleQuery = (req: Extract<HttpRequest, { method: string }>): Out => {
    const r = query(cell.s, { sender: req.sender, canister: req.canister, method: req.method, arg: req.arg });
    if (E.isLeft(r)) return { status: 400, body: 'the query cannot be run' };
    const o = r.right.output;
    const timestamp = wallNanos();
    const base =
      o.kind === 'reply'
        ? { status: 'replied', reply: { arg: o.data } }
        : { status: 'rejected', reject_code: o.code, reject_message: o.message, ...(o.errorCode !== '' ? { error_code: o.errorCode } : {}) };
    // [HTTP-QUERY-SIG.1] signed by a node
    const sig = signResponse(node, { ...base, timestamp, request_id: req.id });
    if (!(sig instanceof Uint8Array)) return { status: 400, body: sig.error };
    return { status: 200, body: { ...base, signatures: [{ timestamp, signature: sig, identity: nodeId }] } };
  };

  /**
   * [HTTP-READ-STATE-AUTH.1] a sender reads only the status of its own requests to the same
   * effective canister, one request per read, and only the effective canister's paths.
   */
  const handleReadState = (req: Extract<HttpRequest, { type: 'read_state' }>, effective: Principal, kind: string): Out => {
    const label = (p: readonly Uint8Array[]): string => new TextDecoder().decode(p[0] ?? new Uint8Array());
    const rids = new Set(req.paths.filter((p) => label(p) === 'request_status' && p.length >= 2).map((p) => toHex(p[1]!)));
    if (rids.size > 1) return { status: 400, body: 'A read_state request may ask for the status of one request only' };
    for (const rid of rids) {
      const who = senders.get(rid);
      if (who !== undefined && who.sender !== req.sender.text) return { status: 403, body: `Request ${rid} was not sent by ${req.sender.text}` };
      if (who !== undefined && kind === 'canister' && who.effective !== effective.text) return { status: 403, body: `Request ${rid} was not sent to ${effective.text}` };
    }
    for (const p of req.paths)
      if (label(p) === 'canister' && p.length >= 2 && (kind !== 'canister' || toHex(p[1]!) !== toHex(effective.bytes)))
        return { status: 403, body: `The path /canister/${toHex(p[1]!)} is not of the effective canister ${effective.text}` };
    return { status: 200, body: { certificate: certificate(certified, req.paths) } };
  };

  const route = (method: string, url: string, body: Uint8Array): Out | Promise<Out> => {
    if (method === 'GET' && url === '/api/v2/status')
      return { status: 200, body: { ic_api_version: '0.18.0', impl_version: 'icspec', root_key: keys.rootKeyDer, replica_health_status: 'healthy' } };
    const m = ROUTE.exec(url);
    if (m === null || method !== 'POST') return { status: 404, body: `no such endpoint: ${method} ${url}` };
    const [, version, kind, idText, endpoint] = m as unknown as [string, string, string, string, RequestType];
    if (kind === 'subnet' && endpoint !== 'read_state') return { status: 404, body: `this subnet answers read_state only` };
    const effective = principalFromText(idText);
    if (isPrincipalError(effective)) return { status: 400, body: `the ${kind} id ${idText} is not a principal` };
    if (kind === 'subnet' && effective.text !== sid.text) return { status: 404, body: `no subnet ${idText} (this one is ${sid.text})` };
    // [HTTP-EXPIRY.1] the machine's time: the wall clock's, or later where a shared machine's
    // time was set ahead (clients take their time from its certificates)
    const wall = wallNanos();
    const read = readEnvelope(body, endpoint, effective, cell.s.time > wall ? cell.s.time : wall);
    if ('refused' in read) return { status: read.refused.status, body: read.refused.message };
    const req = read.request;
    if (req.type !== 'read_state' && req.canister.text !== MANAGEMENT_CANISTER.text && req.canister.text !== effective.text)
      return { status: 400, body: `Specified CanisterId ${req.canister.text} does not match effective canister id in URL ${effective.text}` };
    if (req.type === 'read_state') return handleReadState(req, effective, kind);
    return req.type === 'call' ? handleCall(req, effective, version) : handleQuery(req);
  };

  const reply = (res: ServerResponse, out: Out): void => {
    if (out.body === undefined) {
      res.writeHead(out.status).end();
      return;
    }
    if (typeof out.body === 'string') {
      res.writeHead(out.status, { 'content-type': 'text/plain; charset=utf-8' }).end(out.body);
      return;
    }
    res.writeHead(out.status, { 'content-type': 'application/cbor' }).end(cbor(out.body));
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBody) over = true;
      else chunks.push(c);
    });
    req.on('end', () => {
      if (over) return reply(res, { status: 413, body: `Request body exceeds the maximum of ${maxBody} bytes` });
      // a fault of icspec itself is reported, and the server keeps serving
      const fault = (e: unknown): void => reply(res, { status: 500, body: `internal error: ${(e as Error).message}` });
      try {
        void Promise.resolve(route(req.method ?? 'GET', (req.url ?? '/').split('?')[0]!, new Uint8Array(Buffer.concat(chunks)))).then((o) => reply(res, o), fault);
      } catch (e) {
        fault(e);
      }
    });
  };

  return new Promise((resolve, reject) => {
    const server: Server = createServer(handler);
    // a port that cannot be used: nothing is left running
    server.once('error', (e) => void signer.close().then(() => reject(e)));
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      startIdle();
      const addr = server.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : (opts.port ?? 0);
      resolve({
        url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
        port,
        rootKey: keys.rootKeyDer,
        state: () => cell.s,
        close: () =>
          new Promise((finished) => {
            if (idle !== undefined) clearInterval(idle);
            if (next !== undefined) clearTimeout(next);
            for (const w of waiters.splice(0)) w.resolve({ status: 202 });
            void signer.close();
            server.close(() => finished());
          }),
      });
    });
  });
};

export type { HttpRefusal };
