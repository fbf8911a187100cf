/**
 * The state tree of the execution machine, certified and read by the real clients: request
 * statuses, a canister's controllers and module hash, and the subnet's key, ranges and node keys.
 */
import { Certificate as Certificate3, lookupResultToBuffer as found3 } from '@dfinity/agent';
import { Principal as Principal3 } from '@dfinity/principal';
import { Certificate as Certificate6, lookupResultToBuffer as found6 } from '@icp-sdk/core/agent';
import { Principal as Principal6 } from '@icp-sdk/core/principal';
import { decode } from '@dfinity/cbor';
import * as E from 'fp-ts/lib/Either.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../src/core/bytes.js';
import { ANONYMOUS } from '../src/core/principal.js';
import { submitIngress } from '../src/execution/rules.js';
import { runRound } from '../src/execution/scheduler.js';
import type { ExecState } from '../src/execution/state.js';
import { certify, encodeCertificate, subnetKeys } from '../src/http/certificate.js';
import { reconstruct, fullTree, witness } from '../src/http/hash-tree.js';
import { nodeIdOf, path, stateTree, subnetIdOf } from '../src/http/state-tree.js';
import { loadCanister } from '../src/toolchain/compile.js';
import { prog } from '../src/toolchain/universal.js';
import { create, install, subnet } from '../properties/exec-harness.js';

let UNI: Uint8Array;
beforeAll(async () => {
  UNI = (await loadCanister('universal')).wasm;
});

const keys = subnetKeys('state tree test', 4);

/** Submit under a 32-byte request id (as the HTTP interface does) and run one round. */
const submitAs = (s: ExecState, rid: Uint8Array, canister: ExecState['canisterOrder'][number], arg: Uint8Array): ExecState => {
  const c = s.canisters.get(canister)!;
  const r = submitIngress(s, { sender: ANONYMOUS, canister: c.id, method: 'update', arg, messageId: toHex(rid) });
  if (E.isLeft(r)) throw new Error('submit');
  return runRound(r.right.state, r.right.state.time);
};

describe('the certified state tree', () => {
  it('[HTTP-STATE-TREE.1] [HTTP-WITNESS.1] both clients read a replied and a rejected request, controllers, module hash and the subnet\'s keys from a certified witness', async () => {
    const c = create(subnet(), { controllers: [ANONYMOUS] });
    let s = install(c.state, c.id, UNI).state;
    const ok = new Uint8Array(32).fill(1);
    const no = new Uint8Array(32).fill(2);
    s = submitAs(s, ok, c.id.text, prog().replyData('hello').build());
    s = submitAs(s, no, c.id.text, prog().rejectWith('nope').build());
    const now = BigInt(Date.now()) * 1_000_000n;
    const tree = stateTree(s, keys, now);
    const sid = subnetIdOf(keys);
    const w = witness(tree, [path('time'), path('request_status', ok), path('request_status', no), path('canister', c.id.bytes, 'controllers'), path('canister', c.id.bytes, 'module_hash'), path('subnet')]);
    expect(toHex(reconstruct(w))).toBe(toHex(reconstruct(fullTree(tree))));
    const bytes = encodeCertificate(certify(keys, w));
    const text = (b: Uint8Array | undefined): string => new TextDecoder().decode(b);
    const c3 = await Certificate3.create({ certificate: bytes, rootKey: keys.rootKeyDer, canisterId: Principal3.fromUint8Array(c.id.bytes) });
    expect(text(found3(c3.lookup_path(['request_status', ok, 'status'])))).toBe('replied');
    expect(text(found3(c3.lookup_path(['request_status', ok, 'reply'])))).toBe('hello');
    expect(text(found3(c3.lookup_path(['request_status', no, 'status'])))).toBe('rejected');
    expect(found3(c3.lookup_path(['request_status', no, 'reject_code']))).toEqual(Uint8Array.of(4));
    expect(text(found3(c3.lookup_path(['request_status', no, 'reject_message'])))).toBe('nope');
    const ctl = decode(found3(c3.lookup_path(['canister', c.id.bytes, 'controllers']))!) as Uint8Array[];
    expect(ctl.map((b) => toHex(b))).toEqual([toHex(ANONYMOUS.bytes)]);
    expect(toHex(found3(c3.lookup_path(['canister', c.id.bytes, 'module_hash']))!)).toBe(s.canisters.get(c.id.text)!.wasm!.module.hash);
    expect(found3(c3.lookup_path(['subnet', sid.bytes, 'public_key']))).toEqual(keys.rootKeyDer);
    for (const n of keys.nodes) expect(found3(c3.lookup_path(['subnet', sid.bytes, 'node', nodeIdOf(n.publicKeyDer).bytes, 'public_key']))).toEqual(n.publicKeyDer);
    // the subnet id is what a client derives from the root key when there is no delegation
    expect(sid.text).toBe(Principal3.selfAuthenticating(keys.rootKeyDer).toText());
    const c6 = await Certificate6.create({ certificate: bytes, rootKey: keys.rootKeyDer, principal: { canisterId: Principal6.fromUint8Array(c.id.bytes) } });
    expect(text(found6(c6.lookup_path(['request_status', ok, 'reply'])))).toBe('hello');
    // a request id not in the state is proved absent
    const missing = c3.lookup_path(['request_status', new Uint8Array(32).fill(9), 'status']);
    expect(missing.status).not.toBe('found');
  });
});
