/**
 * PicJS 0.23.0, unchanged, runs a canister test suite against `icspec pocket-ic`: it starts the
 * server as its PocketIC binary (POCKET_IC_BIN), creates an instance, sets up the Motoko
 * counter, calls it, ticks, moves time, reads and adds cycles, upgrades, stops and starts it.
 */
import { join } from 'node:path';
import { PocketIc, PocketIcServer } from '@dfinity/pic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../src/core/root.js';
import { loadCanister } from '../src/toolchain/compile.js';
import { counterIdl, trapperIdl, type Counter, type Trapper } from './harness.js';

let server: PocketIcServer;
let pic: PocketIc;
const wasm = new Map<string, Uint8Array>();
beforeAll(async () => {
  for (const n of ['counter', 'trapper']) wasm.set(n, (await loadCanister(n)).wasm);
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
});
