/**
 * The system state tree of a subnet ([HTTP-STATE-TREE.1]): what `read_state` and certificates
 * reveal of the execution machine's state — time, request statuses, canisters' module hashes,
 * controllers and certified data, and the subnet's keys and canister ranges.
 */
import { encodeWithSelfDescribedTag } from '@dfinity/cbor';
import { fromHex, utf8 } from '../core/bytes.js';
import { canisterId, selfAuthenticating, type Principal } from '../core/principal.js';
import type { Canister, ExecState, IngressStatus } from '../execution/state.js';
import type { SubnetKeys } from './certificate.js';
import type { PMap } from '../core/pmap.js';
import { leaf, mapDelete, mapGet, mapNode, mapSet, node, type LabelMap, type StateTree } from './hash-tree.js';
import { leb128 } from './request-id.js';

/** The subnet's id: the self-authenticating principal of its root key (no delegation, [HTTP-STATE-TREE.1]). */
export const subnetIdOf = (keys: Pick<SubnetKeys, 'rootKeyDer'>): Principal => selfAuthenticating(keys.rootKeyDer);

/** A node's id: the self-authenticating principal of its key. */
export const nodeIdOf = (publicKeyDer: Uint8Array): Principal => selfAuthenticating(publicKeyDer);

/** [HTTP-STATE-TREE.1] a request's status subtree: `status`, and `reply` or the reject fields. */
const statusTree = (st: IngressStatus): StateTree => {
  let t = STATUS_TREE.get(st);
  if (t === undefined) STATUS_TREE.set(st, (t = statusTreeOf(st)));
  return t;
};
const STATUS_TREE = new WeakMap<IngressStatus, StateTree>();
const statusTreeOf = (st: IngressStatus): StateTree => {
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

/** [HTTP-STATE-TREE.1] a canister's subtree: certified data, controllers, module hash (remembered per canister version). */
const canisterTree = (c: Canister): StateTree => {
  const known = CANISTER_TREE.get(c.id);
  if (known !== undefined && known.certifiedData === c.certifiedData && known.controllers === c.controllers && known.wasm === c.wasm?.module) return known.tree;
  const tree = node([
    ['certified_data', leaf(c.certifiedData)],
    ['controllers', leaf(encodeWithSelfDescribedTag(c.controllers.map((p) => p.bytes)))],
    ...(c.wasm !== undefined ? ([['module_hash', leaf(fromHex(c.wasm.module.hash)!)]] as const) : []),
  ]);
  CANISTER_TREE.set(c.id, { certifiedData: c.certifiedData, controllers: c.controllers, wasm: c.wasm?.module, tree });
  return tree;
};
/** by canister id object (shared by every version of a canister): the inputs of its last subtree, and the subtree */
const CANISTER_TREE = new WeakMap<Principal, { readonly certifiedData: Uint8Array; readonly controllers: Canister['controllers']; readonly wasm: unknown; readonly tree: StateTree }>();

/** The statuses of the ingress messages whose ids are request ids (32 bytes), by id. */
type Ingress = PMap<string, IngressStatus>;

/**
 * A few recent ingress histories and their status maps: the next history's map is the nearest
 * one's, changed at the ids changed since (the same map as one built afresh, since a label map's
 * shape depends on its children alone). The memo changes the cost, never the result.
 */
const recent: { readonly ingress: Ingress; readonly map: LabelMap }[] = [];
const RECENT = 4;

const requestStatuses = (ingress: Ingress): LabelMap => {
  let base: { readonly map: LabelMap; readonly changed: readonly string[] } | undefined;
  for (const r of recent) {
    if (r.ingress === ingress) return r.map;
    const changed = ingress.changedSince(r.ingress, 64 + (ingress.size >> 2));
    if (changed !== undefined && (base === undefined || changed.length < base.changed.length)) base = { map: r.map, changed };
  }
  let map: LabelMap;
  const put = (id: string, st: IngressStatus | undefined): void => {
    const bytes = fromHex(id);
    if (bytes === undefined || bytes.length !== 32) return;
    if (st === undefined) map = mapDelete(map, bytes);
    else {
      const t = statusTree(st);
      if (mapGet(map, bytes) !== t) map = mapSet(map, bytes, t);
    }
  };
  if (base !== undefined) {
    map = base.map;
    for (const id of new Set(base.changed)) put(id, ingress.get(id));
  } else {
    map = undefined;
    for (const [id, st] of ingress.entries()) put(id, st);
  }
  recent.unshift({ ingress, map });
  if (recent.length > RECENT) recent.pop();
  return map;
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
  const canisters: [Uint8Array, StateTree][] = [];
  for (const [, c] of s.canisters.entries()) {
    canisters.push([c.id.bytes, canisterTree(c)]);
  }
  return node([
    ['time', leaf(leb128(now))],
    ['request_status', mapNode(requestStatuses(s.ingress))],
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
