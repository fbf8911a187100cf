/**
 * `@dfinity/agent` 3.4.3 drives icspec's HTTP interface as it drives a replica: it fetches the
 * root key, creates a canister through the management canister, installs the Motoko counter,
 * and calls it — updates with certified answers, queries with node signatures — as the
 * anonymous principal and with an Ed25519 identity.
 */
import { Actor, Cbor, Expiry, HttpAgent, ReadRequestType, type HttpAgentRequest } from '@dfinity/agent';
import type { IDL } from '@dfinity/candid';
import { DelegationChain, DelegationIdentity, Ed25519KeyIdentity } from '@dfinity/identity';
import { Secp256k1KeyIdentity } from '@dfinity/identity-secp256k1';
import { Principal } from '@dfinity/principal';
import { describe, expect, it } from 'vitest';
import { counterIdl, EMPTY_ARGS, effectiveOf, installCounter, managementIdl, trapperIdl, withServer, type Counter, type Management, type Trapper } from './harness.js';

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

  it('[HTTP-SERVE.1] [HTTP-AUTH.1] [HTTP-DELEGATION.1] a trap is a certified reject (IC0503) that changes nothing, a missing method a reject (IC0536) of updates and queries alike, for secp256k1 and delegated senders', async () => {
    const root = Secp256k1KeyIdentity.generate();
    const session = Ed25519KeyIdentity.generate();
    const delegated = DelegationIdentity.fromDelegation(session, await DelegationChain.create(root, session.getPublicKey(), new Date(Date.now() + 3_600_000)));
    for (const identity of [root, delegated]) {
      const agent = await HttpAgent.create({ host: env.server().url, shouldFetchRootKey: true, identity });
      const ic = Actor.createActor(managementIdl as IDL.InterfaceFactory, { agent, canisterId: Principal.managementCanister(), callTransform: effectiveOf((t: string) => Principal.fromText(t)) }) as unknown as Management<Principal>;
      const id = await installCounter(ic, env.trapper());
      const t = Actor.createActor(trapperIdl as IDL.InterfaceFactory, { agent, canisterId: id }) as unknown as Trapper;
      await t.set(7n);
      await expect(t.setThenTrap(5n)).rejects.toThrow(/trapper: deliberate trap[\s\S]*Error code: IC0503/);
      expect(await t.get()).toBe(7n);
      await expect(t.missing()).rejects.toThrow(/IC0536/);
      await expect(t.missingQuery()).rejects.toThrow(/IC0536/);
    }
  });

  it('[HTTP-READ-STATE-AUTH.1] only the sender of a request reads its status; another sender gets 403', async () => {
    const alice = Ed25519KeyIdentity.generate();
    const bob = Ed25519KeyIdentity.generate();
    const agent = await HttpAgent.create({ host: env.server().url, shouldFetchRootKey: true, identity: alice });
    const ic = Actor.createActor(managementIdl as IDL.InterfaceFactory, { agent, canisterId: Principal.managementCanister(), callTransform: effectiveOf((t: string) => Principal.fromText(t)) }) as unknown as Management<Principal>;
    const id = await installCounter(ic, env.counter());
    const { requestId } = await agent.call(id, { methodName: 'inc', arg: EMPTY_ARGS, effectiveCanisterId: id });
    /** POST a read_state of the request's status signed by `who`: the HTTP status. */
    const readBy = async (who: Ed25519KeyIdentity): Promise<number> => {
      const req = {
        endpoint: 'read_state',
        request: { method: 'POST', headers: {} },
        body: { request_type: ReadRequestType.ReadState, paths: [[new TextEncoder().encode('request_status'), new Uint8Array(requestId)]], sender: who.getPrincipal(), ingress_expiry: Expiry.fromDeltaInMilliseconds(60_000) },
      } as unknown as HttpAgentRequest;
      const signed = (await who.transformRequest(req)) as { body: unknown };
      const r = await fetch(`${env.server().url}/api/v2/canister/${id.toText()}/read_state`, { method: 'POST', headers: { 'content-type': 'application/cbor' }, body: Cbor.encode(signed.body) as BodyInit });
      return r.status;
    };
    expect(await readBy(alice)).toBe(200);
    expect(await readBy(bob)).toBe(403);
  });
});
