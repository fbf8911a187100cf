/**
 * `@icp-sdk/core` 6.1.0 drives icspec's HTTP interface with its endpoints (v4 call, v3 query and
 * read_state): the counter counts, with certified updates and signed queries.
 */
import { Actor, HttpAgent } from '@icp-sdk/core/agent';
import type { IDL } from '@icp-sdk/core/candid';
import { Ed25519KeyIdentity } from '@icp-sdk/core/identity';
import { Principal } from '@icp-sdk/core/principal';
import { describe, expect, it } from 'vitest';
import { counterIdl, effectiveOf, installCounter, managementIdl, withServer, type Counter, type Management } from './harness.js';

const env = withServer('icp-sdk test');

describe('@icp-sdk/core against icspec serve', () => {
  it('[HTTP-SERVE.1] [HTTP-CERTIFICATE.1] [HTTP-QUERY-SIG.1] [HTTP-AUTH.1] an Ed25519 identity creates and installs the counter over v4 calls; v3 queries read what it counted', async () => {
    const agent = await HttpAgent.create({ host: env.server().url, shouldFetchRootKey: true, identity: Ed25519KeyIdentity.generate() });
    const ic = Actor.createActor(managementIdl as IDL.InterfaceFactory, { agent, canisterId: Principal.managementCanister(), callTransform: effectiveOf((t: string) => Principal.fromText(t)) }) as unknown as Management<Principal>;
    const id = await installCounter(ic, env.counter());
    const counter = Actor.createActor(counterIdl as IDL.InterfaceFactory, { agent, canisterId: id }) as unknown as Counter;
    await counter.inc();
    expect(await counter.get()).toBe(1n);
  });
});
