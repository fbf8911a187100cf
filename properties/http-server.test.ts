/**
 * Bad input to `icspec serve`: random bodies, changed envelopes, wrong paths and oversized
 * bodies each get a 4xx with a text, never a 5xx, and the server keeps serving.
 */
import { encodeWithSelfDescribedTag } from '@dfinity/cbor';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canisterId } from '../src/core/principal.js';
import { serve, type RunningServer } from '../src/http/server.js';

let srv: RunningServer;
beforeAll(async () => {
  srv = await serve({ seed: 'bad input', maxBody: 64 * 1024 });
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
