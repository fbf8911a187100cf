/**
 * Bad input to `icspec serve`: random bodies, changed envelopes, wrong paths and oversized
 * bodies each get a 4xx with a text, never a 5xx, and the server keeps serving.
 */
import { decode, encodeWithSelfDescribedTag } from '@dfinity/cbor';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canisterId } from '../src/core/principal.js';
import { serve, type RunningServer } from '../src/http/server.js';

let srv: RunningServer;
const rounds: { answered: number }[] = [];
beforeAll(async () => {
  srv = await serve({ seed: 'bad input', maxBody: 64 * 1024, onRound: (r) => rounds.push(r) });
});
afterAll(async () => srv.close());

const C = canisterId(0n).text;
const post = async (path: string, body: Uint8Array): Promise<number> => (await fetch(`${srv.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/cbor' }, body: body as BodyInit })).status;

/** Envelopes with the right shape and wrong contents: missing fields, wrong types, bad expiry, forged signatures. */
const arbEnvelope = fc
  .record(
    {
      request_type: fc.constantFrom('call', 'query', 'read_state', 'other', 7),
      canister_id: fc.oneof(fc.uint8Array({ maxLength: 30 }), fc.constant(canisterId(0n).bytes), fc.string()),
      method_name: fc.oneof(fc.string(), fc.nat()),
      arg: fc.uint8Array({ maxLength: 16 }),
      sender: fc.oneof(fc.constant(Uint8Array.of(4)), fc.uint8Array({ maxLength: 30 })),
      ingress_expiry: fc.oneof(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.constant(BigInt(Date.now()) * 1_000_000n + 60_000_000_000n), fc.string()),
      paths: fc.array(fc.array(fc.uint8Array({ maxLength: 8 }), { maxLength: 3 }), { maxLength: 3 }),
    },
    { requiredKeys: [] },
  )
  .chain((content) =>
    fc.record({ content: fc.constant(content), sender_pubkey: fc.option(fc.uint8Array({ maxLength: 50 }), { nil: undefined }), sender_sig: fc.option(fc.uint8Array({ maxLength: 70 }), { nil: undefined }) }, { requiredKeys: ['content'] }),
  );

describe('certification once per round', () => {
  it('[HTTP-SERVE.1] [HTTP-CERTIFICATE.1] concurrent calls answered in one round share its signature: one signature per round that answers', async () => {
    const IDL_CREATE = Uint8Array.from([0x44, 0x49, 0x44, 0x4c, 0x01, 0x6c, 0x00, 0x01, 0x00]);
    const call = (k: number) => {
      const content = { request_type: 'call', canister_id: new Uint8Array(), method_name: 'provisional_create_canister_with_cycles', arg: IDL_CREATE, sender: Uint8Array.of(4), ingress_expiry: BigInt(Date.now()) * 1_000_000n + 120_000_000_000n, nonce: Uint8Array.of(k) };
      return fetch(`${srv.url}/api/v3/canister/${C}/call`, { method: 'POST', headers: { 'content-type': 'application/cbor' }, body: encodeWithSelfDescribedTag({ content } as never) as BodyInit });
    };
    rounds.length = 0;
    const answers = await Promise.all(Array.from({ length: 12 }, (_, k) => call(k)));
    const sigs = new Set<string>();
    for (const a of answers) {
      expect(a.status).toBe(200);
      const body = decode(new Uint8Array(await a.arrayBuffer())) as { status: string; certificate: Uint8Array };
      expect(body.status).toBe('replied');
      sigs.add(Buffer.from((decode(body.certificate) as { signature: Uint8Array }).signature).toString('hex'));
    }
    const answering = rounds.filter((r) => r.answered > 0);
    expect(answering.reduce((n, r) => n + r.answered, 0)).toBe(12);
    expect(sigs.size).toBe(answering.length);
    expect(sigs.size).toBeLessThan(12);
  });
});

describe('bad input to icspec serve', () => {
  it('[HTTP-SERVE.1] [HTTP-ENVELOPE.1] random bodies and malformed envelopes on every endpoint get a 4xx, never a 5xx, and the server keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('v2', 'v3', 'v4'),
        fc.constantFrom('call', 'query', 'read_state'),
        fc.oneof(fc.uint8Array({ maxLength: 300 }), arbEnvelope.map((e) => encodeWithSelfDescribedTag(e as never))),
        async (v, endpoint, body) => {
          const status = await post(`/api/${v}/canister/${C}/${endpoint}`, body);
          expect(status === 202 || status === 200 || (status >= 400 && status < 500)).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
    expect(await post('/api/v2/canister/not-a-principal/call', new Uint8Array())).toBe(400);
    expect(await post('/api/v2/nothing', new Uint8Array())).toBe(404);
    expect(await post(`/api/v2/canister/${C}/call`, new Uint8Array(65 * 1024))).toBe(413);
    expect((await fetch(`${srv.url}/api/v2/status`)).status).toBe(200);
  });
});
