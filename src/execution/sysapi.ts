/**
 * Where each System API function may be called ([EXE-SYSAPI-AVAILABILITY.1]): the interface
 * spec's table ("Overview of imports"), as data. A call from anywhere else traps with a
 * contract violation.
 */

/** The contexts an execution runs in (the interface spec's abbreviations). */
export type EntryKind =
  | 'I' // canister_init or canister_post_upgrade
  | 'G' // canister_pre_upgrade
  | 'U' // canister_update
  | 'RQ' // canister_query in replicated mode
  | 'NRQ' // canister_query in non-replicated mode
  | 'CQ' // canister_composite_query
  | 'Ry' // reply callback
  | 'Rt' // reject callback
  | 'CRy' // reply callback in a composite query
  | 'CRt' // reject callback in a composite query
  | 'C' // cleanup callback
  | 'CC' // cleanup callback in a composite query
  | 'F' // canister_inspect_message
  | 'T' // system task: canister_heartbeat or canister_global_timer
  | 's'; // the (start) function

const ALL: readonly EntryKind[] = ['I', 'G', 'U', 'RQ', 'NRQ', 'CQ', 'Ry', 'Rt', 'CRy', 'CRt', 'C', 'CC', 'F', 'T'];
const ALL_S: readonly EntryKind[] = [...ALL, 's'];
const REPLY: readonly EntryKind[] = ['U', 'RQ', 'NRQ', 'CQ', 'Ry', 'Rt', 'CRy', 'CRt'];
const CALL: readonly EntryKind[] = ['U', 'CQ', 'Ry', 'Rt', 'CRy', 'CRt', 'T'];

/** ic0 function name → the contexts it may be called from. */
export const AVAILABILITY: Readonly<Record<string, readonly EntryKind[]>> = {
  msg_arg_data_size: ['I', 'U', 'RQ', 'NRQ', 'CQ', 'Ry', 'CRy', 'F'],
  msg_arg_data_copy: ['I', 'U', 'RQ', 'NRQ', 'CQ', 'Ry', 'CRy', 'F'],
  msg_caller_size: ALL,
  msg_caller_copy: ALL,
  msg_reject_code: ['Ry', 'Rt', 'CRy', 'CRt'],
  msg_reject_msg_size: ['Rt', 'CRt'],
  msg_reject_msg_copy: ['Rt', 'CRt'],
  msg_deadline: REPLY,
  msg_reply_data_append: REPLY,
  msg_reply: REPLY,
  msg_reject: REPLY,
  // [CYC-SYSAPI.1] the newer table: replicated queries may accept and burn cycles
  msg_cycles_available: ['U', 'RQ', 'Rt', 'Ry'],
  msg_cycles_available128: ['U', 'RQ', 'Rt', 'Ry'],
  msg_cycles_refunded: ['Rt', 'Ry'],
  msg_cycles_refunded128: ['Rt', 'Ry'],
  msg_cycles_accept: ['U', 'RQ', 'Rt', 'Ry'],
  msg_cycles_accept128: ['U', 'RQ', 'Rt', 'Ry'],
  cycles_burn128: ['I', 'G', 'U', 'RQ', 'Ry', 'Rt', 'C', 'T'],
  canister_self_size: ALL,
  canister_self_copy: ALL,
  canister_cycle_balance: ALL,
  canister_cycle_balance128: ALL,
  canister_liquid_cycle_balance128: ALL,
  canister_status: ALL,
  canister_version: ALL,
  msg_method_name_size: ['F'],
  msg_method_name_copy: ['F'],
  accept_message: ['F'],
  call_new: CALL,
  call_on_cleanup: CALL,
  call_data_append: CALL,
  call_with_best_effort_response: CALL,
  call_cycles_add: ['U', 'Ry', 'Rt', 'T'],
  call_cycles_add128: ['U', 'Ry', 'Rt', 'T'],
  call_perform: CALL,
  stable_size: ALL_S,
  stable_grow: ALL_S,
  stable_write: ALL_S,
  stable_read: ALL_S,
  stable64_size: ALL_S,
  stable64_grow: ALL_S,
  stable64_write: ALL_S,
  stable64_read: ALL_S,
  certified_data_set: ['I', 'G', 'U', 'Ry', 'Rt', 'T'],
  data_certificate_present: ALL,
  data_certificate_size: ['NRQ', 'CQ'],
  data_certificate_copy: ['NRQ', 'CQ'],
  time: ALL,
  global_timer_set: ['I', 'G', 'U', 'Ry', 'Rt', 'C', 'T'],
  performance_counter: ALL_S,
  is_controller: ALL_S,
  in_replicated_execution: ALL_S,
  debug_print: ALL_S,
  trap: ALL_S,
  // [CYC-COST-API.1]
  cost_call: ALL_S,
  cost_create_canister: ALL_S,
  cost_http_request: ALL_S,
  cost_sign_with_ecdsa: ALL_S,
  cost_sign_with_schnorr: ALL_S,
  cost_vetkd_derive_key: ALL_S,
};

const SETS = new Map<string, ReadonlySet<EntryKind>>(Object.entries(AVAILABILITY).map(([k, v]) => [k, new Set(v)]));

export const availableIn = (fn: string, kind: EntryKind): boolean => SETS.get(fn)?.has(kind) ?? false;

/** The replica's name for an execution context (`ApiType::as_str`), as it appears in contract-violation texts. */
export const modeName = (kind: EntryKind, entry: string): string => {
  switch (kind) {
    case 'I':
      return 'init';
    case 'G':
      return 'pre upgrade';
    case 'U':
      return 'update';
    case 'RQ':
      return 'replicated query';
    case 'NRQ':
      return 'non replicated query';
    case 'CQ':
      return 'composite query';
    case 'Ry':
      return 'reply callback';
    case 'Rt':
      return 'reject callback';
    case 'CRy':
      return 'composite reply callback';
    case 'CRt':
      return 'composite reject callback';
    case 'C':
      return 'cleanup';
    case 'CC':
      return 'composite cleanup';
    case 'F':
      return 'inspect message';
    case 'T':
      return entry === 'canister_heartbeat' ? 'heartbeat' : 'global timer';
    case 's':
      return 'start';
  }
};
