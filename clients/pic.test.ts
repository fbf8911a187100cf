/**
 * PicJS 0.23.0, unchanged, runs a canister test suite against `icspec pocket-ic`: it starts the
 * server as its PocketIC binary (POCKET_IC_BIN), creates an instance, sets up the Motoko
 * counter, calls it, ticks, moves time, reads and adds cycles, upgrades, stops and starts it.
 */
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Actor, HttpAgent } from '@dfinity/agent';
import { PocketIc, PocketIcServer } from '@dfinity/pic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../src/core/root.js';
import { loadCanister } from '../src/toolchain/compile.js';
import { prog } from '../src/toolchain/universal.js';
import { counterIdl, trapperIdl, type Counter, type Trapper } from './harness.js';

let server: PocketIcServer;
let pic: PocketIc;
const wasm = new Map<string, Uint8Array>();
beforeAll(async () => {
  for (const n of ['counter', 'trapper', 'universal']) wasm.set(n, (await loadCanister(n)).wasm);
  process.env['POCKET_IC_BIN'] = join(packageRoot(), 'bin', 'pocket-ic.js');
  server = await PocketIcServer.start();
  pic = await PocketIc.create(server.getUrl());
});
afterAll(async () => {
  await pic?.tearDown();
  await server?.stop();
});

describe('PicJS against icspec pocket-ic', () => {
  it('[PIC-SERVER.1] [PIC-API.1] [PIC-TIME.1] [PIC-TOPOLOGY.1] setupCanister, calls, tick, time, cycles, controllers, upgrade, stop and start', async () => {
    const f = await pic.setupCanister<Counter>({ idlFactory: counterIdl as never, wasm: wasm.get('counter')! });
    await f.actor.inc();
    await f.actor.inc();
    expect(await f.actor.get()).toBe(2n);
    // time: PocketIC's start, moved by the client
    const t0 = await pic.getTime();
    await pic.advanceTime(60_000);
    await pic.tick();
    expect(await pic.getTime()).toBeGreaterThanOrEqual(t0 + 60_000);
    // cycles
    const c0 = BigInt(await pic.getCyclesBalance(f.canisterId));
    expect(c0 > 0n).toBe(true);
    const c1 = BigInt(await pic.addCycles(f.canisterId, 1_000_000n));
    expect(c1).toBe(c0 + 1_000_000n);
    // topology: one application subnet holding the canister
    const subnets = await pic.getApplicationSubnets();
    expect(subnets.length).toBe(1);
    expect((await pic.getCanisterSubnetId(f.canisterId))?.toText()).toBe(subnets[0]!.id.toText());
    expect((await pic.getControllers(f.canisterId)).map((p) => p.toText())).toEqual(['2vxsx-fae']);
    // an upgrade of a canister with enhanced orthogonal persistence must say to keep its memory,
    // as on the IC; then its count survives
    await expect(pic.upgradeCanister({ canisterId: f.canisterId, wasm: wasm.get('counter')! })).rejects.toThrow(/Enhanced orthogonal persistence requires the `wasm_memory_persistence` upgrade option/);
    await pic.upgradeCanister({ canisterId: f.canisterId, wasm: wasm.get('counter')!, upgradeModeOptions: { skip_pre_upgrade: [], wasm_memory_persistence: [{ keep: null }] } });
    expect(await f.actor.get()).toBe(2n);
    // stopped, a canister rejects calls; started, it answers again
    await pic.stopCanister({ canisterId: f.canisterId });
    await expect(f.actor.inc()).rejects.toThrow(/CanisterStopped/);
    await pic.startCanister({ canisterId: f.canisterId });
    await f.actor.inc();
  });

  it('[PIC-API.1] an instance with an NNS or system subnet is refused with a clear error, as icspec serves one application subnet', async () => {
    await expect(PocketIc.create(server.getUrl(), { nns: { state: { type: 'new' } } } as never)).rejects.toThrow(/one application subnet per instance[\s\S]*nns/);
    await expect(PocketIc.create(server.getUrl(), { system: [{ state: { type: 'new' } }] } as never)).rejects.toThrow(/system \(1\)/);
  });

  it('[PIC-REJECT.1] a trap and a missing method reach the test as PicJS errors with PocketIC\'s codes', async () => {
    const f = await pic.setupCanister<Trapper>({ idlFactory: trapperIdl as never, wasm: wasm.get('trapper')! });
    await f.actor.set(7n);
    await expect(f.actor.setThenTrap(5n)).rejects.toThrow(/trapper: deliberate trap[\s\S]*Reject code: CanisterError[\s\S]*Error code: CanisterCalledTrap[\s\S]*Certified: true/);
    expect(await f.actor.get()).toBe(7n);
    await expect(f.actor.missing()).rejects.toThrow(/CanisterMethodNotFound/);
  });

  it('[PIC-BLOBSTORE.1] [PIC-STABLE.1] stable memory set from the blob store is what the canister reads, and read back whole pages', async () => {
    const canisterId = await pic.createCanister();
    await pic.installCode({ canisterId, wasm: wasm.get('universal')! });
    // 70,000 bytes: two Wasm pages, the rest zeros
    const data = new Uint8Array(70_000).map((_, k) => (k * 7 + 3) % 251);
    await pic.setStableMemory(canisterId, data);
    const read = async (program: Uint8Array): Promise<Uint8Array> => new Uint8Array(await pic.queryCall({ canisterId, method: 'query', arg: program }));
    const size = await read(prog().stable64Size().i64ToBlob().replyDataAppend().reply().build());
    expect(new DataView(size.buffer).getBigUint64(0, true)).toBe(2n);
    expect(await read(prog().pushI64(69_990).pushI64(20).stable64Read().replyDataAppend().reply().build())).toEqual(new Uint8Array([...data.subarray(69_990), ...new Uint8Array(10)]));
    const whole = await pic.getStableMemory(canisterId);
    expect(whole.length).toBe(2 * 65536);
    expect(new Uint8Array(whole.subarray(0, 70_000))).toEqual(data);
    expect(new Uint8Array(whole.subarray(70_000)).every((b) => b === 0)).toBe(true);
    // a write by the canister is what get_stable_memory then reads
    await pic.updateCall({ canisterId, method: 'update', arg: prog().pushI64(5).pushBytes('icspec').stable64Write().replyData('').build() });
    expect(new TextDecoder().decode((await pic.getStableMemory(canisterId)).subarray(5, 11))).toBe('icspec');
    // an empty blob empties the stable memory
    await pic.setStableMemory(canisterId, new Uint8Array());
    expect((await pic.getStableMemory(canisterId)).length).toBe(0);
  });

  it('[PIC-BLOBSTORE.1] [PIC-STABLE.1] a gzip blob is stored as sent and decompressed into stable memory; an unknown blob or encoding is a clear error', async () => {
    const url = server.getUrl();
    const mine = await PocketIc.create(url);
    try {
      const canisterId = await mine.createCanister();
      await mine.installCode({ canisterId, wasm: wasm.get('universal')! });
      const data = new TextEncoder().encode('stable '.repeat(1000));
      const zipped = gzipSync(data);
      const up = await fetch(`${url}/blobstore`, { method: 'POST', body: zipped, headers: { 'content-encoding': 'gzip' } });
      const id = await up.text();
      expect(id).toMatch(/^[0-9a-f]{64}$/);
      const back = await fetch(`${url}/blobstore/${id}`);
      expect(back.headers.get('content-encoding')).toBe('gzip');
      // the instance id is the last path segment PicJS uses; a fresh server's second instance is 1 or more
      const instances = (await (await fetch(`${url}/instances`)).json()) as string[];
      const inst = instances.length - 1;
      const post = (path: string, body: unknown): Promise<Response> => fetch(`${url}/instances/${inst}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const canister = Buffer.from(canisterId.toUint8Array()).toString('base64');
      expect((await post('/update/set_stable_memory', { canister_id: canister, blob_id: Buffer.from(id, 'hex').toString('base64') })).status).toBe(200);
      const got = await mine.getStableMemory(canisterId);
      expect(got.length).toBe(65536);
      expect(new TextDecoder().decode(got.subarray(0, data.length))).toBe('stable '.repeat(1000));
      const missing = await post('/update/set_stable_memory', { canister_id: canister, blob_id: Buffer.alloc(32).toString('base64') });
      expect(missing.status).toBe(400);
      expect(((await missing.json()) as { message: string }).message).toMatch(/^BlobNotFound\(0{64}\)$/);
      const brotli = await fetch(`${url}/blobstore`, { method: 'POST', body: data, headers: { 'content-encoding': 'br' } });
      expect(brotli.status).toBe(400);
      expect(((await brotli.json()) as { message: string }).message).toMatch(/content-encoding br/);
    } finally {
      await mine.tearDown();
    }
  });

  it('[PIC-LIVE.1] a live instance serves @dfinity/agent through its HTTP gateway, with the instance\'s root key, and stops', async () => {
    const mine = await PocketIc.create(server.getUrl());
    try {
      const f = await mine.setupCanister<Counter>({ idlFactory: counterIdl as never, wasm: wasm.get('counter')! });
      await f.actor.inc();
      const port = await mine.makeLive();
      expect(await mine.makeLive()).toBe(port);
      const agent = await HttpAgent.create({ host: `http://127.0.0.1:${port}`, shouldFetchRootKey: true });
      const subnet = (await mine.getApplicationSubnets())[0]!;
      expect(new Uint8Array(agent.rootKey!)).toEqual(new Uint8Array(await mine.getPubKey(subnet.id)));
      // the agent verifies the gateway's certificates and query signatures
      const live = Actor.createActor<Counter>(counterIdl as never, { agent, canisterId: f.canisterId.toText() });
      await live.inc();
      expect(await live.get()).toBe(2n);
      // the instance and the gateway share one machine: PicJS sees the agent's call
      expect(await f.actor.get()).toBe(2n);
      // live time follows the wall clock
      expect(Math.abs((await mine.getTime()) - Date.now())).toBeLessThan(5_000);
      await mine.stopLive();
      await expect(fetch(`http://127.0.0.1:${port}/api/v2/status`)).rejects.toThrow();
    } finally {
      await mine.tearDown();
    }
  });

  it('[PIC-LIVE.1] a gateway does not move an instance that is not live, and a gateway that cannot listen is a clear error that leaves nothing running', async () => {
    const url = server.getUrl();
    const mine = await PocketIc.create(url);
    try {
      const instances = (await (await fetch(`${url}/instances`)).json()) as string[];
      const inst = instances.length - 1;
      const gw = async (port?: number): Promise<Response> =>
        fetch(`${url}/http_gateway`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ forward_to: { PocketIcInstance: inst }, ...(port !== undefined ? { port } : {}) }) });
      const t0 = await mine.getTime();
      // the PocketIC server's own port is taken
      const taken = await gw(Number(new URL(url).port));
      expect(taken.status).toBe(400);
      expect(((await taken.json()) as { message: string }).message).toMatch(/cannot listen on port \d+: EADDRINUSE/);
      const ok = await gw();
      expect(ok.status).toBe(201);
      const { Created } = (await ok.json()) as { Created: { instance_id: number; port: number } };
      await new Promise((r) => setTimeout(r, 1300));
      // neither the failed gateway nor the idle one ran rounds on the instance
      expect(await mine.getTime()).toBe(t0);
      expect((await fetch(`http://127.0.0.1:${Created.port}/api/v2/status`)).status).toBe(200);
      await fetch(`${url}/http_gateway/${Created.instance_id}/stop`, { method: 'POST' });
    } finally {
      await mine.tearDown();
    }
  });
});
