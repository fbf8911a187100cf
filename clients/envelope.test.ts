/**
 * Envelopes signed by the real identities of `@dfinity/agent` 3.4.3 (Ed25519, secp256k1, ECDSA
 * P-256 through WebCrypto, delegation chains) are read and authenticated by icspec; altered ones
 * are refused with the status the interface spec gives, and malformed bodies with 400, never a
 * crash.
 */
import { Cbor, Expiry, SubmitRequestType, type HttpAgentRequest } from '@dfinity/agent';
import { DelegationChain, DelegationIdentity, ECDSAKeyIdentity, Ed25519KeyIdentity } from '@dfinity/identity';
import { Secp256k1KeyIdentity } from '@dfinity/identity-secp256k1';
import { Principal } from '@dfinity/principal';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canisterId, type Principal as IcPrincipal } from '../src/core/principal.js';
import { readEnvelope } from '../src/http/envelope.js';

const CANISTER = canisterId(7n);
const OTHER = canisterId(8n);
const nowNanos = (): bigint => BigInt(Date.now()) * 1_000_000n;

type Signer = { getPrincipal(): Principal; transformRequest(r: HttpAgentRequest): Promise<unknown> };

/** The body an agent posts for a call to `canister`, signed by `id`. */
const signedCall = async (id: Signer, canister: IcPrincipal, expiryMs = 4 * 60_000): Promise<Uint8Array> => {
  const req = {
    endpoint: 'call',
    request: { method: 'POST', headers: {} },
    body: {
      request_type: SubmitRequestType.Call,
      canister_id: Principal.fromUint8Array(canister.bytes),
      method_name: 'greet',
      arg: new Uint8Array([0x44, 0x49, 0x44, 0x4c, 0, 0]),
      sender: id.getPrincipal(),
      ingress_expiry: Expiry.fromDeltaInMilliseconds(expiryMs),
      nonce: new Uint8Array(16).fill(1),
    },
  } as unknown as HttpAgentRequest;
  const t = (await id.transformRequest(req)) as { body: unknown };
  return Cbor.encode(t.body);
};

const refusal = (r: ReturnType<typeof readEnvelope>): { status: number; message: string } | undefined => ('refused' in r ? r.refused : undefined);

describe('authenticated envelopes', () => {
  it('[HTTP-ENVELOPE.1] [HTTP-AUTH.1] calls signed by Ed25519, secp256k1 and P-256 identities are read with their sender and request id; the anonymous sender needs no signature', async () => {
    const ids: Signer[] = [Ed25519KeyIdentity.generate(), Secp256k1KeyIdentity.generate(), await ECDSAKeyIdentity.generate()];
    for (const id of ids) {
      const r = readEnvelope(await signedCall(id, CANISTER), 'call', CANISTER, nowNanos());
      expect(refusal(r)).toBeUndefined();
      if (!('request' in r) || r.request.type !== 'call') throw new Error('no request');
      expect(r.request.sender.text).toBe(id.getPrincipal().toText());
      expect(r.request.canister.text).toBe(CANISTER.text);
      expect(r.request.method).toBe('greet');
      expect(r.request.id.length).toBe(32);
    }
    const anon = Cbor.encode({ content: { request_type: 'query', canister_id: CANISTER.bytes, method_name: 'q', arg: new Uint8Array(), sender: Uint8Array.of(4), ingress_expiry: nowNanos() + 60_000_000_000n } });
    const a = readEnvelope(anon, 'query', CANISTER, nowNanos());
    expect('request' in a && a.request.sender.text).toBe('2vxsx-fae');
  });

  it('[HTTP-AUTH.1] a wrong signature, another key, or a claimed sender that is not the key\'s principal is refused with 403', async () => {
    const id = Ed25519KeyIdentity.generate();
    const body = Cbor.decode<Record<string, unknown>>(await signedCall(id, CANISTER));
    const sig = body['sender_sig'] as Uint8Array;
    const flipped = Cbor.encode({ ...body, sender_sig: Uint8Array.from(sig, (b, i) => (i === 0 ? b ^ 1 : b)) });
    expect(refusal(readEnvelope(flipped, 'call', CANISTER, nowNanos()))?.status).toBe(403);
    const otherKey = Cbor.encode({ ...body, sender_pubkey: Ed25519KeyIdentity.generate().getPublicKey().toDer() });
    expect(refusal(readEnvelope(otherKey, 'call', CANISTER, nowNanos()))).toMatchObject({ status: 403, message: expect.stringMatching(/is not the principal of sender_pubkey/) });
    const noSig = Cbor.encode({ content: body['content'] });
    expect(refusal(readEnvelope(noSig, 'call', CANISTER, nowNanos()))?.status).toBe(403);
  });

  it('[HTTP-DELEGATION.1] a delegation chain is followed to the key that signs; an expired delegation, or one whose targets leave out the canister, is refused', async () => {
    const root = Ed25519KeyIdentity.generate();
    const session = Ed25519KeyIdentity.generate();
    const farFuture = new Date(Date.now() + 3600_000);
    const open = DelegationIdentity.fromDelegation(session, await DelegationChain.create(root, session.getPublicKey(), farFuture));
    const r = readEnvelope(await signedCall(open, CANISTER), 'call', CANISTER, nowNanos());
    expect('request' in r && r.request.sender.text).toBe(root.getPrincipal().toText());
    const targeted = DelegationIdentity.fromDelegation(session, await DelegationChain.create(root, session.getPublicKey(), farFuture, { targets: [Principal.fromUint8Array(OTHER.bytes)] }));
    expect(refusal(readEnvelope(await signedCall(targeted, CANISTER), 'call', CANISTER, nowNanos()))).toMatchObject({ status: 403, message: expect.stringMatching(/does not allow/) });
    expect(refusal(readEnvelope(await signedCall(targeted, OTHER), 'call', OTHER, nowNanos()))).toBeUndefined();
    // two steps: root → middle → session
    const middle = Ed25519KeyIdentity.generate();
    const c1 = await DelegationChain.create(root, middle.getPublicKey(), farFuture);
    const c2 = await DelegationChain.create(middle, session.getPublicKey(), farFuture, { previous: c1 });
    const two = DelegationIdentity.fromDelegation(session, c2);
    expect(refusal(readEnvelope(await signedCall(two, CANISTER), 'call', CANISTER, nowNanos()))).toBeUndefined();
    // an hour and a minute later, the delegation has expired
    expect(refusal(readEnvelope(await signedCall(open, CANISTER), 'call', CANISTER, nowNanos() + 3_660_000_000_000n))?.status).toBeOneOf([400, 403]);
  });

  it('[HTTP-EXPIRY.1] an expiry in the past or more than 5 minutes (and the drift) ahead is refused with the text the agents recognize', async () => {
    const id = Ed25519KeyIdentity.generate();
    const body = await signedCall(id, CANISTER);
    const later = refusal(readEnvelope(body, 'call', CANISTER, nowNanos() + 10n * 60_000_000_000n));
    expect(later?.status).toBe(400);
    expect(later?.message.startsWith('Invalid request expiry: ')).toBe(true);
    const far = await signedCall(id, CANISTER, 30 * 60_000);
    expect(refusal(readEnvelope(far, 'call', CANISTER, nowNanos()))?.message).toMatch(/^Invalid request expiry: Specified ingress_expiry not within expected range/);
  });

  it('[HTTP-ENVELOPE.1] random bodies, and random changes to a valid one, are refused with a 4xx and never throw', async () => {
    const valid = await signedCall(Ed25519KeyIdentity.generate(), CANISTER);
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 1, max: 255 })).map(([i, x]) => Uint8Array.from(valid, (b, j) => (j === i ? b ^ x : b)))), (body) => {
        const r = readEnvelope(body, 'call', CANISTER, nowNanos());
        if ('refused' in r) expect([400, 403]).toContain(r.refused.status);
      }),
      { numRuns: 300 },
    );
  });
});
