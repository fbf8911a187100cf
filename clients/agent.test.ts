/**
 * `@dfinity/agent` 3.4.3 drives icspec's HTTP interface as it drives a replica: it fetches the
 * root key, creates a canister through the management canister, installs the Motoko counter,
 * and calls it — updates with certified answers, queries with node signatures — as the
 * anonymous principal and with an Ed25519 identity.
 */
import { Actor, HttpAgent } from '@dfinity/agent';
import type { IDL } from '@dfinity/candid';
import { Ed25519KeyIdentity } from '@dfinity/identity';
import { Principal } from '@dfinity/principal';
import { describe, expect, it } from 'vitest';
import { counterIdl, effectiveOf, installCounter, managementIdl, withServer, type Counter, type Management } from './harness.js';

const env = withServer('agent test');

describe('@dfinity/agent against icspec serve', () => {
  it('[HTTP-SERVE.1] [HTTP-CERTIFICATE.1] [HTTP-QUERY-SIG.1] an agent creates and installs the counter, and its certified updates and signed queries count', async () => {
    for (const identity of [undefined, Ed25519KeyIdentity.generate()]) {
      const agent = await HttpAgent.create({ host: env.server().url, shouldFetchRootKey: true, ...(identity ? { identity } : {}) });
      expect(new Uint8Array(agent.rootKey!)).toEqual(env.server().rootKey);
      const ic = Actor.createActor(managementIdl as IDL.InterfaceFactory, { agent, canisterId: Principal.managementCanister(), callTransform: effectiveOf((t: string) => Principal.fromText(t)) }) as unknown as Management<Principal>;
      const id = await installCounter(ic, env.counter());
      const counter = Actor.createActor(counterIdl as IDL.InterfaceFactory, { agent, canisterId: id }) as unknown as Counter;
      await counter.inc();
      await counter.inc();
      expect(await counter.get()).toBe(2n);
    }
  });
});
