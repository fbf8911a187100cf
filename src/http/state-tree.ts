/**
 * The system state tree of a subnet ([HTTP-STATE-TREE.1]): what `read_state` and certificates
 * reveal of the execution machine's state — time, request statuses, canisters' module hashes,
 * controllers and certified data, and the subnet's keys and canister ranges.
 */
import { encodeWithSelfDescribedTag } from '@dfinity/cbor';
import { fromHex, utf8 } from '../core/bytes.js';
import { canisterId, selfAuthenticating, type Principal } from '../core/principal.js';
import type { ExecState, IngressStatus } from '../execution/state.js';
import type { SubnetKeys } from './certificate.js';
import { leaf, node, type StateTree } from './hash-tree.js';
import { leb128 } from './request-id.js';

/** The subnet's id: the self-authenticating principal of its root key (no delegation, [HTTP-STATE-TREE.1]). */
export const subnetIdOf = (keys: Pick<SubnetKeys, 'rootKeyDer'>): Principal => selfAuthenticating(keys.rootKeyDer);

/** A node's id: the self-authenticating principal of its key. */
export const nodeIdOf = (publicKeyDer: Uint8Array): Principal => selfAuthenticating(publicKeyDer);

/** [HTTP-STATE-TREE.1] a request's status subtree: `status`, and `reply` or the reject fields. */
const statusTree = (st: IngressStatus): StateTree => {
  switch (st.status) {
    case 'replied':
      return node([
        ['status', leaf('replied')],
        ['reply', leaf(st.reply)],
      ]);
    case 'rejected':
      return node([
        ['status', leaf('rejected')],
        ['reject_code', leaf(leb128(BigInt(st.code)))],
        ['reject_message', leaf(st.message)],
        ...(st.errorCode !== '' ? ([['error_code', leaf(st.errorCode)]] as const) : []),
      ]);
    default:
      return node([['status', leaf(st.status)]]);
  }
};

/**
 * [HTTP-STATE-TREE.1] the state tree at time `now`: `/time`; `/request_status/<id>` for each
 * ingress message whose id is a request id (32 bytes); `/canister/<id>/{module_hash, controllers,
 * certified_data}`; `/subnet/<sid>/{public_key, canister_ranges, node/<nid>/public_key}` and
 * `/canister_ranges/<sid>/<first range start>`.
 */
export const stateTree = (s: ExecState, keys: SubnetKeys, now: bigint): StateTree => {
  const sid = subnetIdOf(keys);
  const ranges = encodeWithSelfDescribedTag([[canisterId(s.config.rangeStart).bytes, canisterId(s.config.rangeEnd).bytes]]);
  const statuses: [Uint8Array, StateTree][] = [];
  for (const [id, st] of s.ingress.entries()) {
    const bytes = fromHex(id);
    if (bytes !== undefined && bytes.length === 32) statuses.push([bytes, statusTree(st)]);
  }
  const canisters: [Uint8Array, StateTree][] = [];
  for (const [, c] of s.canisters.entries()) {
    canisters.push([
      c.id.bytes,
      node([
        ['certified_data', leaf(c.certifiedData)],
        ['controllers', leaf(encodeWithSelfDescribedTag(c.controllers.map((p) => p.bytes)))],
        ...(c.wasm !== undefined ? ([['module_hash', leaf(fromHex(c.wasm.module.hash)!)]] as const) : []),
      ]),
    ]);
  }
  return node([
    ['time', leaf(leb128(now))],
    ['request_status', node(statuses)],
    ['canister', node(canisters)],
    [
      'subnet',
      node([
        [
          sid.bytes,
          node([
            ['public_key', leaf(keys.rootKeyDer)],
            ['canister_ranges', leaf(ranges)],
            ['node', node(keys.nodes.map((n) => [nodeIdOf(n.publicKeyDer).bytes, node([['public_key', leaf(n.publicKeyDer)]])] as const))],
          ]),
        ],
      ]),
    ],
    ['canister_ranges', node([[sid.bytes, node([[canisterId(s.config.rangeStart).bytes, leaf(ranges)]])]])],
  ]);
};

/** The labels of a path given as text and bytes, for callers building paths. */
export const path = (...parts: readonly (string | Uint8Array)[]): Uint8Array[] => parts.map((p) => (typeof p === 'string' ? utf8(p) : p));
