/**
 * The certification core checked by the real clients: `@dfinity/agent` 3.4.3 and `@icp-sdk/core`
 * 6.1.0 compute the same request ids as icspec, and accept its certificates (BLS signature, root
 * key, time) and the witnesses it builds, finding what is revealed and proving what is absent.
 */
import { Certificate as Certificate3, lookupResultToBuffer as found3, requestIdOf as requestIdOf3 } from '@dfinity/agent';
import { Principal as Principal3 } from '@dfinity/principal';
import { Certificate as Certificate6, lookupResultToBuffer as found6, requestIdOf as requestIdOf6 } from '@icp-sdk/core/agent';
import { Principal as Principal6 } from '@icp-sdk/core/principal';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ed25519 } from '@noble/curves/ed25519.js';
import { concatBytes, toHex } from '../src/core/bytes.js';
import { certify, ed25519Sign, encodeCertificate, signResponse, signRoot, subnetKeys, verifyCertificate } from '../src/http/certificate.js';
import { rootSigner } from '../src/http/signer.js';
import { fullTree, leaf, lookup, mapDelete, mapNode, mapSet, node, reconstruct, stateHash, witness, type LabelMap, type StateTree } from '../src/http/hash-tree.js';
import { leb128, requestId } from '../src/http/request-id.js';

const hex = (b: Uint8Array): string => toHex(b);
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Request contents: the fields of calls, queries and read_state, with random values. */
const arbContent = fc.record(
  {
    request_type: fc.constantFrom('call', 'query', 'read_state'),
    canister_id: fc.uint8Array({ maxLength: 29 }),
    method_name: fc.string(),
    arg: fc.uint8Array({ maxLength: 64 }),
    sender: fc.uint8Array({ minLength: 1, maxLength: 29 }),
    ingress_expiry: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    nonce: fc.uint8Array({ maxLength: 32 }),
    paths: fc.array(fc.array(fc.uint8Array({ maxLength: 8 }), { maxLength: 3 }), { maxLength: 3 }),
    nested: fc.record({ a: fc.nat(), b: fc.string() }),
  },
  { requiredKeys: ['request_type', 'sender', 'ingress_expiry'] },
);

describe('request ids', () => {
  it('[HTTP-REQUEST-ID.1] the interface spec example: a call of `hello` with DIDL\\0\\xfd* has the id 1d1091…b101', () => {
    const content = {
      request_type: 'call',
      sender: Uint8Array.of(4),
      canister_id: Uint8Array.from([0, 0, 0, 0, 0, 0, 4, 0xd2]),
      method_name: 'hello',
      arg: Uint8Array.from([0x44, 0x49, 0x44, 0x4c, 0x00, 0xfd, 0x2a]),
      ingress_expiry: 1685570400000000000n,
    };
    const id = requestId(content);
    expect(id instanceof Uint8Array && hex(id)).toBe('1d1091364d6bb8a6c16b203ee75467d59ead468f523eb058880ae8ec80e2b101');
    expect(hex(leb128(624485n))).toBe('e58e26');
  });

  it('[HTTP-REQUEST-ID.1] icspec, @dfinity/agent and @icp-sdk/core give every request content the same id', () => {
    fc.assert(
      fc.property(arbContent, (c) => {
        const ours = requestId(c);
        expect(ours instanceof Uint8Array).toBe(true);
        expect(hex(ours as Uint8Array)).toBe(hex(new Uint8Array(requestIdOf3(c))));
        expect(hex(ours as Uint8Array)).toBe(hex(new Uint8Array(requestIdOf6(c))));
      }),
      { numRuns: 200 },
    );
  });

  it('[HTTP-REQUEST-ID.1] values without a hash (negative numbers, booleans, null) are an error, not a crash', () => {
    expect(requestId({ ingress_expiry: -1n })).toEqual({ error: 'ingress_expiry: a negative number (-1) has no representation-independent hash' });
    expect(requestId({ x: true })).toEqual({ error: 'x: a boolean has no representation-independent hash' });
    expect(requestId({ x: [null] })).toEqual({ error: 'x: a null has no representation-independent hash' });
  });
});

/** A state tree: time, some request statuses, and a subnet. */
const stateAt = (nowNanos: bigint, statuses: readonly [Uint8Array, string][]): StateTree =>
  node([
    ['time', leaf(leb128(nowNanos))],
    ['request_status', node(statuses.map(([id, st]) => [id, node([['status', leaf(st)], ...(st === 'replied' ? ([['reply', leaf(Uint8Array.of(1, 2, 3))]] as const) : [])])] as const))],
    ['subnet', node([[Uint8Array.of(7), node([['public_key', leaf(Uint8Array.of(9))]])]])],
  ]);

const arbIds = fc.uniqueArray(fc.uint8Array({ minLength: 32, maxLength: 32 }), { minLength: 1, maxLength: 12, selector: (b) => hex(b) });

describe('signed query responses', () => {
  it('[HTTP-QUERY-SIG.1] a node signs `ic-response` ‖ the hash of the response map, as the clients hash it', () => {
    const keys = subnetKeys('test', 2);
    const response = { status: 'replied', reply: { arg: Uint8Array.of(0x44, 0x49, 0x44, 0x4c, 0, 0) }, timestamp: 1_700_000_000_000_000_000n, request_id: new Uint8Array(32).fill(3) };
    const sig = signResponse(keys.nodes[1]!, response);
    expect(sig instanceof Uint8Array && sig.length).toBe(64);
    const payload = concatBytes(Uint8Array.of(11), utf8('ic-response'), new Uint8Array(requestIdOf3(response)));
    const pub = keys.nodes[1]!.publicKeyDer.subarray(12);
    expect(ed25519.verify(sig as Uint8Array, payload, pub)).toBe(true);
    expect(ed25519.verify(sig as Uint8Array, payload, keys.nodes[0]!.publicKeyDer.subarray(12))).toBe(false);
    expect(keys.nodes[0]!.publicKeyDer.length).toBe(44);
  });

  it('[HTTP-QUERY-SIG.1] node signatures made through Node\'s OpenSSL are byte for byte those of @noble/curves (Ed25519 is deterministic)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 200 }), (secret, msg) => {
        expect(hex(ed25519Sign(secret, msg))).toBe(hex(ed25519.sign(msg, secret)));
      }),
      { numRuns: 100 },
    );
  });
});

describe('witnesses and certificates', () => {
  it('[HTTP-HASH-TREE.1] [HTTP-WITNESS.1] a witness has the state tree\'s root hash, reveals the paths asked for and proves the absence of the others', () => {
    fc.assert(
      fc.property(arbIds, fc.nat(), fc.uint8Array({ minLength: 32, maxLength: 32 }), (ids, pick, other) => {
        const s = stateAt(5n, ids.map((id, i) => [id, i % 2 === 0 ? 'replied' : 'processing']));
        const asked = ids[pick % ids.length]!;
        const absent = ids.some((id) => hex(id) === hex(other)) ? undefined : other;
        const w = witness(s, [[utf8('time')], [utf8('request_status'), asked], ...(absent ? [[utf8('request_status'), absent]] : [])]);
        expect(hex(reconstruct(w))).toBe(hex(reconstruct(fullTree(s))));
        expect(lookup(w, [utf8('time')])).toEqual({ found: leb128(5n) });
        const st = lookup(w, [utf8('request_status'), asked, utf8('status')]);
        expect(st !== 'absent' && st !== 'unknown' && new TextDecoder().decode(st.found)).toBe(ids.indexOf(asked) % 2 === 0 ? 'replied' : 'processing');
        if (absent) expect(lookup(w, [utf8('request_status'), absent, utf8('status')])).toBe('absent');
        // what was not asked is pruned
        expect(lookup(w, [utf8('subnet'), Uint8Array.of(7), utf8('public_key')])).toBe('unknown');
      }),
      { numRuns: 100 },
    );
  });

  it('[HTTP-CERTIFICATE.1] [HTTP-ROOT-KEY.1] both clients verify icspec\'s certificates against its root key and read the witness; a certificate signed by another key is refused', async () => {
    const keys = subnetKeys('test');
    expect(keys.rootKeyDer.length).toBe(133);
    expect(subnetKeys('test').rootKeyDer).toEqual(keys.rootKeyDer);
    const now = BigInt(Date.now()) * 1_000_000n;
    const rid = new Uint8Array(32).fill(0xab);
    const s = stateAt(now, [[rid, 'replied']]);
    const cert = certify(keys, witness(s, [[utf8('time')], [utf8('request_status'), rid]]));
    expect(verifyCertificate(keys.rootKeyDer, cert)).toBe(true);
    const bytes = encodeCertificate(cert);
    const c3 = await Certificate3.create({ certificate: bytes, rootKey: keys.rootKeyDer, canisterId: Principal3.fromText('aaaaa-aa') });
    expect(new TextDecoder().decode(found3(c3.lookup_path(['request_status', rid, 'status'])))).toBe('replied');
    expect(found3(c3.lookup_path(['request_status', rid, 'reply']))).toEqual(Uint8Array.of(1, 2, 3));
    const c6 = await Certificate6.create({ certificate: bytes, rootKey: keys.rootKeyDer, principal: { canisterId: Principal6.fromText('aaaaa-aa') } });
    expect(new TextDecoder().decode(found6(c6.lookup_path(['request_status', rid, 'status'])))).toBe('replied');
    const forged = encodeCertificate(certify(subnetKeys('someone else'), cert.tree));
    await expect(Certificate3.create({ certificate: forged, rootKey: keys.rootKeyDer, canisterId: Principal3.fromText('aaaaa-aa') })).rejects.toThrow();
    await expect(Certificate6.create({ certificate: forged, rootKey: keys.rootKeyDer, principal: { canisterId: Principal6.fromText('aaaaa-aa') } })).rejects.toThrow();
  });

  it('[HTTP-HASH-TREE.1] [HTTP-WITNESS.1] a label map (the treap behind request_status) hashes by its children alone, however built, and its witnesses satisfy both clients', async () => {
    const keys = subnetKeys('test');
    const now = BigInt(Date.now()) * 1_000_000n;
    const status = (v: number): StateTree => node([['status', leaf(v % 2 === 0 ? 'replied' : 'processing')], ['reply', leaf(Uint8Array.of(v & 0xff))]]);
    const arbOps = fc.array(fc.record({ id: fc.nat({ max: 40 }), v: fc.nat({ max: 3 }), del: fc.boolean() }), { minLength: 1, maxLength: 80 });
    await fc.assert(
      fc.asyncProperty(arbOps, fc.nat(), fc.nat({ max: 40 }), async (ops, order, probe) => {
        // ids spread over the label space, and some sharing prefixes
        const idOf = (k: number): Uint8Array => new Uint8Array(32).fill(k % 3 === 0 ? 7 : (k * 37) & 0xff).map((b, i) => (i === 31 ? k : b));
        let map: LabelMap;
        const model = new Map<number, number>();
        for (const op of ops) {
          if (op.del) (map = mapDelete(map, idOf(op.id))), model.delete(op.id);
          else (map = mapSet(map, idOf(op.id), status(op.v))), model.set(op.id, op.v);
        }
        // the same children added afresh, in another order: the same hash
        const entries = [...model.entries()];
        const rotated = [...entries.slice(order % (entries.length || 1)), ...entries.slice(0, order % (entries.length || 1))];
        let fresh: LabelMap;
        for (const [k, v] of rotated) fresh = mapSet(fresh, idOf(k), status(v));
        expect(hex(stateHash(mapNode(map)))).toBe(hex(stateHash(mapNode(fresh))));
        expect(hex(stateHash(mapNode(map)))).toBe(hex(reconstruct(fullTree(mapNode(map)))));
        // a witness for one id: revealed if present, its absence proved if not, checked by the agent
        const tree = node([['time', leaf(leb128(now))], ['request_status', mapNode(map)]]);
        const w = witness(tree, [[utf8('time')], [utf8('request_status'), idOf(probe)]]);
        expect(hex(reconstruct(w))).toBe(hex(stateHash(tree)));
        const ours = lookup(w, [utf8('request_status'), idOf(probe), utf8('status')]);
        const c3 = await Certificate3.create({ certificate: encodeCertificate(certify(keys, w)), rootKey: keys.rootKeyDer, canisterId: Principal3.fromText('aaaaa-aa') });
        const theirs = c3.lookup_path(['request_status', idOf(probe), 'status']);
        if (model.has(probe)) {
          const want = model.get(probe)! % 2 === 0 ? 'replied' : 'processing';
          expect(ours !== 'absent' && ours !== 'unknown' && new TextDecoder().decode(ours.found)).toBe(want);
          expect(new TextDecoder().decode(found3(theirs))).toBe(want);
        } else {
          expect(ours).toBe('absent');
          // both clients (agent 3.4.3, core 6.1.0) compare labels with `isBufferGreaterThan`, which
          // calls a label greater when any one byte is greater — not the spec's lexicographic
          // order — so where the two orders disagree they answer Unknown to an absence proof
          // (a client finding, recorded in spec/http.md); they never claim to find the label
          expect(['Absent', 'Unknown']).toContain(theirs.status);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('[HTTP-CERTIFICATE.1] the worker thread signs state roots with the bytes signRoot gives, in order; so does the in-place signer', async () => {
    const keys = subnetKeys('signer');
    const roots = [1, 2, 3].map((k) => new Uint8Array(32).fill(k));
    for (const inPlace of [false, true]) {
      const signer = rootSigner(keys, inPlace);
      try {
        const sigs = await Promise.all(roots.map((r) => signer.sign(r)));
        expect(sigs.map(hex)).toEqual(roots.map((r) => hex(signRoot(keys, r))));
      } finally {
        await signer.close();
      }
    }
  });
});
