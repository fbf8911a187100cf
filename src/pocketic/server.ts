/**
 * `icspec pocket-ic`: PocketIC's JSON API as PicJS 0.23 uses it ([PIC-API.1]), over the execution
 * machine — one application subnet per instance. Time is the instance's own (set and advanced by
 * the client), not the wall clock.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import * as E from 'fp-ts/lib/Either.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '../core/bytes.js';
import { canisterId, isPrincipalError, MANAGEMENT_CANISTER, principalFromBytes, type Principal } from '../core/principal.js';
import { subnetConfig } from '../execution/config.js';
import { mint } from '../execution/cycles.js';
import { ErrorCode, type ErrorCodeName } from '../execution/errors.js';
import { putCanister } from '../execution/ops.js';
import { PageMap, WASM_PAGE } from '../execution/pagemap.js';
import { advanceTime, certify, query, submitIngress } from '../execution/rules.js';
import { runRound } from '../execution/scheduler.js';
import { emptyState, type ExecState, type IngressStatus } from '../execution/state.js';
import * as A from '../cycles/account.js';
import { subnetKeys, type SubnetKeys } from '../http/certificate.js';
import { serve, type RunningServer } from '../http/server.js';
import { subnetIdOf } from '../http/state-tree.js';

/** PocketIC's start time: 2021-05-06 19:17:10 UTC, plus the nanosecond of creation ([PIC-TIME.1]). */
export const PIC_START = 1_620_328_630_000_000_001n;
/** The first application subnet's canister range: `lxzze-o7777-77777-aaaaa-cai` … `x47dp-5x777-77777-p777q-cai`. */
export const APP_RANGE = { start: 0xffffffffffe00000n, end: 0xffffffffffefffffn } as const;

interface Instance {
  s: ExecState;
  /** [PIC-LIVE.1] the auto-progress timer, while the instance is live */
  live?: NodeJS.Timeout;
  /** the time the next round runs at, and whether the client set it since the last round */
  time: bigint;
  timeSet: boolean;
  readonly keys: SubnetKeys;
  readonly messages: Map<string, string>;
}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
const unb64 = (s: unknown): Uint8Array | undefined => (typeof s === 'string' ? new Uint8Array(Buffer.from(s, 'base64')) : undefined);

const REJECT_CODES = ['', 'SysFatal', 'SysTransient', 'DestinationInvalid', 'CanisterReject', 'CanisterError', 'SysUnknown'];
const CODE_NAMES = new Map<string, ErrorCodeName>(Object.entries(ErrorCode).map(([n, c]) => [`IC${String(c).padStart(4, '0')}`, n as ErrorCodeName]));

/** [PIC-REJECT.1] a reject as PocketIC writes it: enum names, not numbers. */
const reject = (code: number, message: string, errorCode: string, certified: boolean): unknown => ({
  Err: { reject_code: REJECT_CODES[code] ?? 'SysUnknown', reject_message: message, error_code: errorCode === '' ? 'CanisterRejectedMessage' : (CODE_NAMES.get(errorCode) ?? errorCode), certified },
});

/** A plain-text answer (the blob store's ids), and raw bytes with their content encoding. */
class Text {
  constructor(readonly text: string) {}
}
class RawBlob {
  constructor(
    readonly data: Uint8Array,
    readonly gzip: boolean,
  ) {}
}
type Out = { readonly status: number; readonly body?: unknown };
const err = (status: number, message: string): Out => ({ status, body: { message } });

/** Start the server; it listens until `close`. */
export const servePocketIc = (opts: { readonly port?: number; readonly host?: string } = {}): Promise<{ readonly port: number; readonly server: Server; readonly close: () => Promise<void>; readonly lastRequest: () => number }> => {
  const instances = new Map<number, Instance | 'deleted'>();
  /** [PIC-LIVE.1] HTTP gateways by id: the IC's HTTP interface over an instance */
  const gateways = new Map<number, { readonly instance: number; readonly server: RunningServer }>();
  let nextGateway = 0;
  /** [PIC-BLOBSTORE.1] the server's blobs by hex SHA-256 of the bytes uploaded, with their compression */
  const blobs = new Map<string, { readonly data: Uint8Array; readonly gzip: boolean }>();
  let nextInstance = 0;
  let last = Date.now();

  /** [PIC-API.1] one application subnet per instance: a configuration asking for more is refused. */
  const create = (body: Record<string, unknown>): Out => {
    const set = (body['subnet_config_set'] ?? {}) as Record<string, unknown>;
    const asked: string[] = [];
    for (const [k, v] of Object.entries(set)) {
      const n = Array.isArray(v) ? v.length : v === null || v === undefined ? 0 : 1;
      if (k === 'application' ? n > 1 : n > 0) asked.push(`${k} (${n})`);
    }
    if (asked.length > 0)
      return err(400, `icspec pocket-ic serves one application subnet per instance until the multi-subnet IC exists; this configuration also asks for: ${asked.join(', ')}`);
    const id = nextInstance++;
    const keys = subnetKeys(`pocket-ic instance ${id}`, 1);
    const config = { ...subnetConfig('application'), rangeStart: APP_RANGE.start, rangeEnd: APP_RANGE.end };
    instances.set(id, { s: emptyState(config, PIC_START), time: PIC_START, timeSet: false, keys, messages: new Map() });
    return { status: 201, body: { Created: { instance_id: id, topology: topology(instances.get(id) as Instance), http_gateway_info: null } } };
  };

  /** [PIC-TOPOLOGY.1] one application subnet. */
  const topology = (i: Instance): unknown => ({
    subnet_configs: {
      [subnetIdOf(i.keys).text]: {
        subnet_kind: 'Application',
        subnet_seed: Array.from(sha256(i.keys.rootKeyDer)),
        instruction_config: 'Production',
        cost_schedule: 'Normal',
        subnet_admins: null,
        canister_ranges: [{ start: { canister_id: b64(canisterId(APP_RANGE.start).bytes) }, end: { canister_id: b64(canisterId(APP_RANGE.end).bytes) } }],
      },
    },
    default_effective_canister_id: { canister_id: b64(canisterId(APP_RANGE.start).bytes) },
  });

  /** The instance's time: the time set for the next round, or the machine's if a gateway's rounds moved it on. */
  const now = (i: Instance): bigint => (i.time > i.s.time ? i.time : i.s.time);

  /** [PIC-LIVE.1] live: a round every 100 ms at the wall clock's time (never back). */
  const liveTick = (i: Instance): void => {
    const wall = BigInt(Date.now()) * 1_000_000n;
    if (wall > now(i)) {
      i.time = wall;
      i.timeSet = true;
    }
    tick(i);
    // a live instance keeps the server from its idle timeout
    last = Date.now();
  };
  const makeLive = (i: Instance): void => {
    if (i.live !== undefined) return;
    // the first round at once: a client of the gateway takes its time from the next certificate
    liveTick(i);
    i.live = setInterval(() => {
      try {
        liveTick(i);
      } catch (e) {
        // a fault of icspec itself: the instance stops progressing, the server keeps serving
        stopLive(i);
        process.stderr.write(`icspec pocket-ic: instance progress stopped: ${(e as Error).message}\n`);
      }
    }, 100);
  };
  const stopLive = (i: Instance): void => {
    if (i.live !== undefined) clearInterval(i.live);
    delete i.live;
  };

  /** [PIC-LIVE.1] a gateway: `icspec serve` over the instance's machine and keys. */
  const startGateway = async (body: Record<string, unknown>): Promise<Out> => {
    const fwd = body['forward_to'] as Record<string, unknown> | undefined;
    const id = fwd?.['PocketIcInstance'];
    if (typeof id !== 'number') return err(400, 'icspec pocket-ic forwards an HTTP gateway to one of its instances only: {"forward_to": {"PocketIcInstance": <id>}}');
    const i = instances.get(id);
    if (i === undefined || i === 'deleted') return err(400, `Instance not found: ${id}`);
    const port = typeof body['port'] === 'number' ? body['port'] : 0;
    // the gateway's rounds are the instance's: at the wall clock when live, else as `tick`
    let server: RunningServer;
    try {
      server = await serve({ machine: { cell: i, keys: i.keys, round: () => (i.live !== undefined ? liveTick(i) : tick(i)) }, port, host: '127.0.0.1' });
    } catch (e) {
      return err(400, `the HTTP gateway cannot listen on port ${port}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const gid = nextGateway++;
    gateways.set(gid, { instance: id, server });
    return { status: 201, body: { Created: { instance_id: gid, port: server.port } } };
  };
  const stopGateways = async (which: (g: { readonly instance: number }, id: number) => boolean): Promise<void> => {
    for (const [gid, g] of [...gateways.entries()])
      if (which(g, gid)) {
        gateways.delete(gid);
        await g.server.close();
      }
  };

  /** [PIC-TIME.1] a round: at the time the client set, else a nanosecond after the last one. */
  const tick = (i: Instance): void => {
    const at = i.timeSet ? i.time : i.s.time + 1n;
    const t = advanceTime(i.s, { now: at });
    if (E.isRight(t)) i.s = t.right.state;
    i.s = runRound(i.s, i.s.time);
    i.time = i.s.time;
    i.timeSet = false;
  };

  const canisterArg = (i: Instance, body: Record<string, unknown>): Principal | Out => {
    const bytes = unb64(body['canister_id']);
    const p = bytes === undefined ? undefined : principalFromBytes(bytes);
    if (p === undefined || isPrincipalError(p)) return err(400, 'canister_id is not a base64 principal');
    if (!i.s.canisters.has(p.text)) return err(400, `CanisterNotFound(${p.text})`);
    return p;
  };

  const call = (i: Instance, body: Record<string, unknown>, op: 'submit' | 'query'): Out => {
    const sender = principalFromBytes(unb64(body['sender']) ?? new Uint8Array([0xff]));
    const canister = principalFromBytes(unb64(body['canister_id']) ?? new Uint8Array([0xff]));
    const arg = unb64(body['payload']);
    if (isPrincipalError(sender) || isPrincipalError(canister) || arg === undefined || typeof body['method'] !== 'string') return err(400, 'the call needs sender, canister_id, method and payload');
    const method = body['method'];
    if (op === 'query') {
      const r = query(i.s, { sender, canister, method, arg });
      if (E.isLeft(r)) return err(400, 'the query cannot be run');
      const o = r.right.output;
      return { status: 200, body: o.kind === 'reply' ? { Ok: b64(o.data) } : reject(o.code, o.message, o.errorCode, false) };
    }
    // the message id: a digest of the call and the instance's message count (opaque to clients)
    const id = toHex(sha256(new TextEncoder().encode(`${i.messages.size} ${sender.text} ${canister.text} ${method} ${toHex(arg)}`)));
    const ecid = (body['effective_principal'] as Record<string, unknown> | undefined)?.['CanisterId'];
    const effective = ecid !== undefined ? principalFromBytes(unb64(ecid) ?? new Uint8Array([0xff])) : undefined;
    const r = submitIngress(i.s, { sender, canister, method, arg, messageId: id, ...(effective !== undefined && !isPrincipalError(effective) && canister.text === MANAGEMENT_CANISTER.text ? { effectiveCanisterId: effective } : {}) });
    if (E.isLeft(r)) {
      const f = r.left;
      if (f.kind === 'NotEnabled') return err(400, f.reason);
      return { status: 200, body: reject(2, f.error.message, f.error.code, true) };
    }
    i.s = r.right.state;
    i.messages.set(id, id);
    return { status: 200, body: { Ok: { effective_principal: body['effective_principal'] ?? 'None', message_id: b64(Buffer.from(id, 'hex')) } } };
  };

  const awaitMessage = (i: Instance, body: Record<string, unknown>): Out => {
    const raw = unb64(body['message_id']);
    if (raw === undefined) return err(400, 'message_id is not base64');
    const id = toHex(raw);
    const done = (st: IngressStatus | undefined): boolean => st !== undefined && st.status !== 'received' && st.status !== 'processing';
    for (let n = 0; n < 1000 && !done(i.s.ingress.get(id)); n++) tick(i);
    const st = i.s.ingress.get(id);
    if (st === undefined) return err(400, `no such message ${id}`);
    if (st.status === 'replied') return { status: 200, body: { Ok: b64(st.reply) } };
    if (st.status === 'rejected') return { status: 200, body: reject(st.code, st.message, st.errorCode, true) };
    return err(400, `message ${id} did not complete in 1000 rounds`);
  };

  /** [PIC-BLOBSTORE.1] upload: the id is the hex SHA-256 of the bytes as sent, answered as plain text. */
  const upload = (raw: Uint8Array, encoding: string | undefined): Out => {
    if (encoding !== undefined && encoding !== 'gzip') return err(400, `unsupported content-encoding ${encoding}: a blob is sent as is or gzip-compressed`);
    const id = toHex(sha256(raw));
    blobs.set(id, { data: raw, gzip: encoding === 'gzip' });
    return { status: 200, body: new Text(id) };
  };

  /** [PIC-STABLE.1] the stable memory replaced by a stored blob (decompressed), sized to whole Wasm pages. */
  const setStable = (i: Instance, body: Record<string, unknown>): Out => {
    const c = canisterArg(i, body);
    if ('status' in c) return c;
    const idBytes = unb64(body['blob_id']);
    const blob = idBytes === undefined ? undefined : blobs.get(toHex(idBytes));
    if (blob === undefined) return err(400, `BlobNotFound(${idBytes === undefined ? '' : toHex(idBytes)})`);
    const cur = i.s.canisters.get(c.text)!;
    if (cur.wasm === undefined) return err(400, `CanisterIsEmpty(${c.text}): a canister without a module has no stable memory`);
    let data: Uint8Array;
    try {
      data = blob.gzip ? new Uint8Array(gunzipSync(blob.data)) : blob.data;
    } catch {
      return err(400, `the blob ${toHex(idBytes!)} is not valid gzip`);
    }
    const stable = PageMap.empty(Math.ceil(data.length / WASM_PAGE)).write(0, data);
    // the change is certified at once, as PocketIC commits and certifies it: queries see it
    const put = certify(putCanister(i.s, { ...cur, wasm: { ...cur.wasm, stable } }), {});
    if (E.isRight(put)) i.s = put.right.state;
    return { status: 200 };
  };

  const route = (method: string, url: string, raw: Uint8Array, encoding?: string): Out | Promise<Out> => {
    if (method === 'POST' && (url === '/blobstore' || url === '/blobstore/')) return upload(raw, encoding);
    if (method === 'POST' && url === '/http_gateway') {
      try {
        return startGateway(JSON.parse(new TextDecoder().decode(raw)) as Record<string, unknown>);
      } catch {
        return err(400, 'the body is not JSON');
      }
    }
    const gwStop = /^\/http_gateway\/(\d+)\/stop$/.exec(url);
    if (method === 'POST' && gwStop !== null) return stopGateways((_g, gid) => gid === Number(gwStop[1])).then(() => ({ status: 200 }));
    const blobGet = /^\/blobstore\/([0-9a-f]{64})$/.exec(url);
    if (method === 'GET' && blobGet !== null) {
      const b = blobs.get(blobGet[1]!);
      return b === undefined ? err(404, `BlobNotFound(${blobGet[1]})`) : { status: 200, body: new RawBlob(b.data, b.gzip) };
    }
    if (method === 'POST' && url === '/instances') {
      try {
        return create(raw.length > 0 ? (JSON.parse(new TextDecoder().decode(raw)) as Record<string, unknown>) : {});
      } catch {
        return err(400, 'the body is not JSON');
      }
    }
    if (method === 'GET' && url === '/instances') return { status: 200, body: [...instances.values()].map((x) => (x === 'deleted' ? 'Deleted' : 'Available')) };
    const m = /^\/instances\/(\d+)(\/.*)?$/.exec(url);
    if (m === null) return err(404, `no such endpoint: ${method} ${url}`);
    const i = instances.get(Number(m[1]));
    if (i === undefined || i === 'deleted') return err(404, `Instance not found: ${m[1]}`);
    const op = m[2] ?? '';
    if (method === 'DELETE' && op === '') {
      stopLive(i);
      void stopGateways((g) => g.instance === Number(m[1]));
      instances.set(Number(m[1]), 'deleted');
      return { status: 200 };
    }
    let body: Record<string, unknown> = {};
    if (raw.length > 0) {
      try {
        body = JSON.parse(new TextDecoder().decode(raw)) as Record<string, unknown>;
      } catch {
        return err(400, 'the body is not JSON');
      }
    }
    switch (`${method} ${op}`) {
      case 'POST /update/submit_ingress_message':
        return call(i, body, 'submit');
      case 'POST /update/await_ingress_message':
        return awaitMessage(i, body);
      case 'POST /read/query':
        return call(i, body, 'query');
      case 'POST /update/tick':
        tick(i);
        return { status: 200 };
      case 'GET /read/get_time':
        return { status: 200, body: { nanos_since_epoch: now(i) } };
      case 'POST /update/set_time':
      case 'POST /update/set_certified_time': {
        const t = BigInt(String(body['nanos_since_epoch'] ?? ''));
        if (t < now(i)) return err(400, `SettingTimeIntoPast((${now(i)}, ${t}))`);
        i.time = t;
        i.timeSet = true;
        if (op === '/update/set_certified_time') tick(i);
        return { status: 200 };
      }
      case 'POST /read/get_cycles': {
        const c = canisterArg(i, body);
        if ('status' in c) return c;
        return { status: 200, body: { cycles: i.s.canisters.get(c.text)!.cycles } };
      }
      case 'POST /update/add_cycles': {
        const c = canisterArg(i, body);
        if ('status' in c) return c;
        const amount = BigInt(String(body['amount'] ?? '0'));
        const cur = i.s.canisters.get(c.text)!;
        // [PIC-API.1] cycles added from nowhere: minted, as a provisional top-up ([CYC-MGMT-FEES.1])
        i.s = mint(putCanister(i.s, { ...cur, cycles: A.add(cur.cycles, amount) }), amount);
        return { status: 200, body: { cycles: i.s.canisters.get(c.text)!.cycles } };
      }
      case 'POST /read/get_subnet': {
        const c = canisterArg(i, body);
        return 'status' in c ? { status: 200 } : { status: 200, body: { subnet_id: b64(subnetIdOf(i.keys).bytes) } };
      }
      case 'POST /read/get_controllers': {
        const c = canisterArg(i, body);
        if ('status' in c) return c;
        return { status: 200, body: i.s.canisters.get(c.text)!.controllers.map((p) => ({ principal_id: b64(p.bytes) })) };
      }
      case 'GET /_/topology':
      case 'GET /read/topology':
        return { status: 200, body: topology(i) };
      case 'POST /update/set_stable_memory':
        return setStable(i, body);
      case 'POST /read/get_stable_memory': {
        const c = canisterArg(i, body);
        if ('status' in c) return c;
        const w = i.s.canisters.get(c.text)!.wasm;
        return { status: 200, body: { blob: b64(w === undefined ? new Uint8Array() : w.stable.toBytes()) } };
      }
      case 'GET /auto_progress':
        return { status: 200, body: i.live !== undefined };
      case 'POST /auto_progress':
        makeLive(i);
        return { status: 200 };
      case 'POST /stop_progress':
        stopLive(i);
        return { status: 200 };
      case 'POST /read/pub_key':
        return { status: 200, body: Array.from(i.keys.rootKeyDer) };
      default:
        return err(400, `icspec pocket-ic does not serve ${method} ${url} yet`);
    }
  };

  /** JSON with bigints as bare integers. */
  const json = (v: unknown): string => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `@@${x}@@` : x)).replace(/"@@(\d+)@@"/g, '$1');

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      last = Date.now();
      const send = (out: Out): void => {
        last = Date.now();
        if (out.body === undefined) res.writeHead(out.status).end();
        else if (out.body instanceof Text) res.writeHead(out.status, { 'content-type': 'text/plain; charset=utf-8' }).end(out.body.text);
        else if (out.body instanceof RawBlob) res.writeHead(out.status, { 'content-type': 'application/octet-stream', ...(out.body.gzip ? { 'content-encoding': 'gzip' } : {}) }).end(out.body.data);
        else res.writeHead(out.status, { 'content-type': 'application/json' }).end(json(out.body));
      };
      const fault = (e: unknown): void => send(err(500, `PocketIC server error: ${(e as Error).message}`));
      try {
        const enc = req.headers['content-encoding'];
        void Promise.resolve(route(req.method ?? 'GET', (req.url ?? '/').split('?')[0]!, new Uint8Array(Buffer.concat(chunks)), typeof enc === 'string' ? enc.trim().toLowerCase() : undefined)).then(send, fault);
      } catch (e) {
        fault(e);
      }
    });
  };

  return new Promise((resolve, rejectP) => {
    const server = createServer(handler);
    server.once('error', rejectP);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      const a = server.address();
      const close = async (): Promise<void> => {
        for (const x of instances.values()) if (x !== 'deleted') stopLive(x);
        await stopGateways(() => true);
        await new Promise<void>((d) => server.close(() => d()));
      };
      resolve({ port: typeof a === 'object' && a !== null ? a.port : 0, server, close, lastRequest: () => last });
    });
  });
};
