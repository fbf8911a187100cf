/**
 * The universal test canister (`canisters/wat/universal.wat`): its op table, a program builder,
 * an encoder, a decoder and a static type checker.
 *
 * A program is a byte string: an opcode byte, then the op's immediate if it has one
 * (`push_i32`: 4 bytes LE; `push_i64`: 8 bytes LE; `push_blob`: a 4-byte LE length, then the
 * bytes). The canister runs it on a stack of typed values (i32, i64, blob). `OPS` is the op
 * table; the header of universal.wat documents the same table (a test keeps the two equal).
 *
 * ```ts
 * prog().pushBytes('hello').replyDataAppend().reply().build()
 * prog().callSimple({ callee, method: 'update', arg: prog().replyData('pong').build() }).drop().build()
 * ```
 */

export type Ty = 'i32' | 'i64' | 'blob' | 'any';

export interface OpInfo {
  readonly code: number;
  /** The op's name (snake case), as in universal.wat's header. */
  readonly name: string;
  /** The builder method that appends it. */
  readonly method: string;
  readonly imm?: 'u32' | 'u64' | 'blob';
  /** Operands, bottom to top (the last one is popped first). */
  readonly pops: readonly Ty[];
  /** Results, bottom to top; 'dynamic': whatever the program run does; 'diverges': never returns. */
  readonly pushes: readonly Ty[] | 'dynamic' | 'diverges';
  /** The System API function the op calls. */
  readonly ic0?: string;
  readonly doc: string;
}

const I = 'i32' as const;
const L = 'i64' as const;
const B = 'blob' as const;
const A = 'any' as const;

/** The op table (opcode order). */
export const OPS = [
  // values
  { code: 0x00, name: 'nop', method: 'nop', pops: [], pushes: [], doc: 'nothing' },
  { code: 0x01, name: 'push_i32', method: 'pushI32', imm: 'u32', pops: [], pushes: [I], doc: 'push the immediate (4 bytes LE)' },
  { code: 0x02, name: 'push_i64', method: 'pushI64', imm: 'u64', pops: [], pushes: [L], doc: 'push the immediate (8 bytes LE)' },
  { code: 0x03, name: 'push_blob', method: 'pushBytes', imm: 'blob', pops: [], pushes: [B], doc: 'push the immediate (4-byte LE length, bytes)' },
  { code: 0x04, name: 'drop', method: 'drop', pops: [A], pushes: [], doc: 'discard the top value' },
  { code: 0x05, name: 'dup', method: 'dup', pops: [A], pushes: [A, A], doc: 'duplicate the top value' },
  { code: 0x06, name: 'swap', method: 'swap', pops: [A, A], pushes: [A, A], doc: 'swap the two top values' },
  { code: 0x07, name: 'concat', method: 'concat', pops: [B, B], pushes: [B], doc: 'a ‖ b' },
  { code: 0x08, name: 'blob_size', method: 'blobSize', pops: [B], pushes: [I], doc: 'length of the blob' },
  { code: 0x09, name: 'slice', method: 'slice', pops: [B, I, I], pushes: [B], doc: 'blob[offset .. offset+length]; traps out of range' },
  { code: 0x0a, name: 'blob_eq', method: 'blobEq', pops: [B, B], pushes: [I], doc: '1 if equal, else 0' },
  { code: 0x0b, name: 'repeat', method: 'repeat', pops: [B, I], pushes: [B], doc: 'the blob repeated n times' },
  { code: 0x0c, name: 'i32_to_blob', method: 'i32ToBlob', pops: [I], pushes: [B], doc: '4 bytes LE' },
  { code: 0x0d, name: 'i64_to_blob', method: 'i64ToBlob', pops: [L], pushes: [B], doc: '8 bytes LE' },
  { code: 0x0e, name: 'blob_to_i32', method: 'blobToI32', pops: [B], pushes: [I], doc: 'a blob of at most 4 bytes, LE, zero-extended' },
  { code: 0x0f, name: 'blob_to_i64', method: 'blobToI64', pops: [B], pushes: [L], doc: 'a blob of at most 8 bytes, LE, zero-extended' },
  { code: 0x10, name: 'i32_add', method: 'i32Add', pops: [I, I], pushes: [I], doc: 'a + b (wrapping)' },
  { code: 0x11, name: 'i32_sub', method: 'i32Sub', pops: [I, I], pushes: [I], doc: 'a - b (wrapping)' },
  { code: 0x12, name: 'i32_mul', method: 'i32Mul', pops: [I, I], pushes: [I], doc: 'a * b (wrapping)' },
  { code: 0x13, name: 'i32_div_u', method: 'i32DivU', pops: [I, I], pushes: [I], doc: 'a / b unsigned; traps if b = 0' },
  { code: 0x14, name: 'i32_rem_u', method: 'i32RemU', pops: [I, I], pushes: [I], doc: 'a % b unsigned; traps if b = 0' },
  { code: 0x15, name: 'i32_and', method: 'i32And', pops: [I, I], pushes: [I], doc: 'a & b' },
  { code: 0x16, name: 'i32_or', method: 'i32Or', pops: [I, I], pushes: [I], doc: 'a | b' },
  { code: 0x17, name: 'i32_eq', method: 'i32Eq', pops: [I, I], pushes: [I], doc: 'a = b' },
  { code: 0x18, name: 'i32_lt_u', method: 'i32LtU', pops: [I, I], pushes: [I], doc: 'a < b unsigned' },
  { code: 0x19, name: 'i32_eqz', method: 'i32Eqz', pops: [I], pushes: [I], doc: 'a = 0' },
  { code: 0x1a, name: 'i64_add', method: 'i64Add', pops: [L, L], pushes: [L], doc: 'a + b (wrapping)' },
  { code: 0x1b, name: 'i64_sub', method: 'i64Sub', pops: [L, L], pushes: [L], doc: 'a - b (wrapping)' },
  { code: 0x1c, name: 'i64_mul', method: 'i64Mul', pops: [L, L], pushes: [L], doc: 'a * b (wrapping)' },
  { code: 0x1d, name: 'i64_div_u', method: 'i64DivU', pops: [L, L], pushes: [L], doc: 'a / b unsigned; traps if b = 0' },
  { code: 0x1e, name: 'i64_eq', method: 'i64Eq', pops: [L, L], pushes: [I], doc: 'a = b' },
  { code: 0x1f, name: 'i64_lt_u', method: 'i64LtU', pops: [L, L], pushes: [I], doc: 'a < b unsigned' },
  { code: 0x20, name: 'i32_to_i64', method: 'i32ToI64', pops: [I], pushes: [L], doc: 'zero-extend' },
  { code: 0x21, name: 'i64_to_i32', method: 'i64ToI32', pops: [L], pushes: [I], doc: 'wrap' },
  { code: 0x22, name: 'i64_to_decimal', method: 'i64ToDecimal', pops: [L], pushes: [B], doc: 'unsigned decimal text' },
  // control
  { code: 0x28, name: 'eval', method: 'eval', pops: [B], pushes: 'dynamic', doc: 'run the blob as a program (same stack)' },
  { code: 0x29, name: 'if', method: 'ifElse', pops: [I, B, B], pushes: 'dynamic', doc: 'run `then` if cond ≠ 0, else `else`' },
  { code: 0x2a, name: 'loop', method: 'loop', pops: [B, I], pushes: 'dynamic', doc: 'run the program n times' },
  { code: 0x2b, name: 'spin', method: 'spin', pops: [], pushes: 'diverges', doc: 'loop forever (until the instruction limit)' },
  { code: 0x2c, name: 'unreachable', method: 'unreachable', pops: [], pushes: 'diverges', doc: 'the Wasm `unreachable` trap' },
  { code: 0x2d, name: 'memory_size', method: 'memorySize', pops: [], pushes: [I], doc: 'Wasm memory size in pages' },
  { code: 0x2e, name: 'memory_grow', method: 'memoryGrow', pops: [I], pushes: [I], doc: 'memory.grow: the old size, or -1' },
  // persistent storage
  { code: 0x30, name: 'set_global', method: 'setGlobal', pops: [B], pushes: [], doc: 'store the blob in the global (Wasm memory)' },
  { code: 0x31, name: 'get_global', method: 'getGlobal', pops: [], pushes: [B], doc: 'the global (empty until set)' },
  { code: 0x32, name: 'append_global', method: 'appendGlobal', pops: [B], pushes: [], doc: 'global := global ‖ blob' },
  { code: 0x33, name: 'set_stable_global', method: 'setStableGlobal', pops: [B], pushes: [], doc: 'store the blob at stable memory offset 0 (4-byte LE length, bytes)' },
  { code: 0x34, name: 'get_stable_global', method: 'getStableGlobal', pops: [], pushes: [B], doc: 'the stable global (empty if stable memory is empty)' },
  { code: 0x35, name: 'set_pre_upgrade', method: 'setPreUpgrade', pops: [B], pushes: [], doc: 'program run by canister_pre_upgrade' },
  { code: 0x36, name: 'set_heartbeat', method: 'setHeartbeat', pops: [B], pushes: [], doc: 'program run by canister_heartbeat' },
  { code: 0x37, name: 'set_global_timer', method: 'setGlobalTimer', pops: [B], pushes: [], doc: 'program run by canister_global_timer' },
  { code: 0x38, name: 'set_inspect_message', method: 'setInspectMessage', pops: [B], pushes: [], doc: 'program run by canister_inspect_message' },
  // the System API
  { code: 0x40, name: 'msg_arg_data_size', method: 'msgArgDataSize', pops: [], pushes: [I], ic0: 'msg_arg_data_size', doc: '' },
  { code: 0x41, name: 'msg_arg_data_copy', method: 'msgArgDataCopy', pops: [I, I], pushes: [B], ic0: 'msg_arg_data_copy', doc: '(offset, size)' },
  { code: 0x42, name: 'msg_caller_size', method: 'msgCallerSize', pops: [], pushes: [I], ic0: 'msg_caller_size', doc: '' },
  { code: 0x43, name: 'msg_caller_copy', method: 'msgCallerCopy', pops: [I, I], pushes: [B], ic0: 'msg_caller_copy', doc: '(offset, size)' },
  { code: 0x44, name: 'msg_reject_code', method: 'msgRejectCode', pops: [], pushes: [I], ic0: 'msg_reject_code', doc: '' },
  { code: 0x45, name: 'msg_reject_msg_size', method: 'msgRejectMsgSize', pops: [], pushes: [I], ic0: 'msg_reject_msg_size', doc: '' },
  { code: 0x46, name: 'msg_reject_msg_copy', method: 'msgRejectMsgCopy', pops: [I, I], pushes: [B], ic0: 'msg_reject_msg_copy', doc: '(offset, size)' },
  { code: 0x47, name: 'msg_reply_data_append', method: 'replyDataAppend', pops: [B], pushes: [], ic0: 'msg_reply_data_append', doc: '' },
  { code: 0x48, name: 'msg_reply', method: 'reply', pops: [], pushes: [], ic0: 'msg_reply', doc: '' },
  { code: 0x49, name: 'msg_reject', method: 'reject', pops: [B], pushes: [], ic0: 'msg_reject', doc: '' },
  { code: 0x4a, name: 'msg_cycles_available', method: 'msgCyclesAvailable', pops: [], pushes: [L], ic0: 'msg_cycles_available', doc: '' },
  { code: 0x4b, name: 'msg_cycles_available128', method: 'msgCyclesAvailable128', pops: [], pushes: [B], ic0: 'msg_cycles_available128', doc: '16 bytes LE' },
  { code: 0x4c, name: 'msg_cycles_refunded', method: 'msgCyclesRefunded', pops: [], pushes: [L], ic0: 'msg_cycles_refunded', doc: '' },
  { code: 0x4d, name: 'msg_cycles_refunded128', method: 'msgCyclesRefunded128', pops: [], pushes: [B], ic0: 'msg_cycles_refunded128', doc: '16 bytes LE' },
  { code: 0x4e, name: 'msg_cycles_accept', method: 'msgCyclesAccept', pops: [L], pushes: [L], ic0: 'msg_cycles_accept', doc: '(max) → accepted' },
  { code: 0x4f, name: 'msg_cycles_accept128', method: 'msgCyclesAccept128', pops: [L, L], pushes: [B], ic0: 'msg_cycles_accept128', doc: '(high, low) → accepted, 16 bytes LE' },
  { code: 0x50, name: 'cycles_burn128', method: 'cyclesBurn128', pops: [L, L], pushes: [B], ic0: 'cycles_burn128', doc: '(high, low) → burned, 16 bytes LE' },
  { code: 0x51, name: 'canister_self_size', method: 'canisterSelfSize', pops: [], pushes: [I], ic0: 'canister_self_size', doc: '' },
  { code: 0x52, name: 'canister_self_copy', method: 'canisterSelfCopy', pops: [I, I], pushes: [B], ic0: 'canister_self_copy', doc: '(offset, size)' },
  { code: 0x53, name: 'canister_cycle_balance', method: 'canisterCycleBalance', pops: [], pushes: [L], ic0: 'canister_cycle_balance', doc: '' },
  { code: 0x54, name: 'canister_cycle_balance128', method: 'canisterCycleBalance128', pops: [], pushes: [B], ic0: 'canister_cycle_balance128', doc: '16 bytes LE' },
  { code: 0x55, name: 'canister_status', method: 'canisterStatus', pops: [], pushes: [I], ic0: 'canister_status', doc: '1 running, 2 stopping, 3 stopped' },
  { code: 0x56, name: 'canister_version', method: 'canisterVersion', pops: [], pushes: [L], ic0: 'canister_version', doc: '' },
  { code: 0x57, name: 'msg_method_name_size', method: 'msgMethodNameSize', pops: [], pushes: [I], ic0: 'msg_method_name_size', doc: '' },
  { code: 0x58, name: 'msg_method_name_copy', method: 'msgMethodNameCopy', pops: [I, I], pushes: [B], ic0: 'msg_method_name_copy', doc: '(offset, size)' },
  { code: 0x59, name: 'accept_message', method: 'acceptMessage', pops: [], pushes: [], ic0: 'accept_message', doc: '' },
  {
    code: 0x5a,
    name: 'call_new',
    method: 'callNew',
    pops: [B, B, B, B],
    pushes: [],
    ic0: 'call_new',
    doc: '(callee, method, on_reply, on_reject): the callbacks run the two programs',
  },
  {
    code: 0x5b,
    name: 'call_new_raw',
    method: 'callNewRaw',
    pops: [B, B, I, I, I, I],
    pushes: [],
    ic0: 'call_new',
    doc: '(callee, method, reply_fun, reply_env, reject_fun, reject_env), as given',
  },
  { code: 0x5c, name: 'call_on_cleanup', method: 'callOnCleanup', pops: [B], pushes: [], ic0: 'call_on_cleanup', doc: 'the cleanup callback runs the program' },
  { code: 0x5d, name: 'call_on_cleanup_raw', method: 'callOnCleanupRaw', pops: [I, I], pushes: [], ic0: 'call_on_cleanup', doc: '(fun, env), as given' },
  { code: 0x5e, name: 'call_data_append', method: 'callDataAppend', pops: [B], pushes: [], ic0: 'call_data_append', doc: '' },
  { code: 0x5f, name: 'call_cycles_add', method: 'callCyclesAdd', pops: [L], pushes: [], ic0: 'call_cycles_add', doc: '' },
  { code: 0x60, name: 'call_cycles_add128', method: 'callCyclesAdd128', pops: [L, L], pushes: [], ic0: 'call_cycles_add128', doc: '(high, low)' },
  { code: 0x61, name: 'call_perform', method: 'callPerform', pops: [], pushes: [I], ic0: 'call_perform', doc: 'error code (0 = ok)' },
  {
    code: 0x62,
    name: 'call_with_best_effort_response',
    method: 'callWithBestEffortResponse',
    pops: [I],
    pushes: [],
    ic0: 'call_with_best_effort_response',
    doc: '(timeout_seconds)',
  },
  { code: 0x63, name: 'stable_size', method: 'stableSize', pops: [], pushes: [I], ic0: 'stable_size', doc: '' },
  { code: 0x64, name: 'stable_grow', method: 'stableGrow', pops: [I], pushes: [I], ic0: 'stable_grow', doc: '(pages) → old size or -1' },
  { code: 0x65, name: 'stable_write', method: 'stableWrite', pops: [I, B], pushes: [], ic0: 'stable_write', doc: '(offset, data)' },
  { code: 0x66, name: 'stable_read', method: 'stableRead', pops: [I, I], pushes: [B], ic0: 'stable_read', doc: '(offset, size)' },
  { code: 0x67, name: 'stable64_size', method: 'stable64Size', pops: [], pushes: [L], ic0: 'stable64_size', doc: '' },
  { code: 0x68, name: 'stable64_grow', method: 'stable64Grow', pops: [L], pushes: [L], ic0: 'stable64_grow', doc: '(pages) → old size or -1' },
  { code: 0x69, name: 'stable64_write', method: 'stable64Write', pops: [L, B], pushes: [], ic0: 'stable64_write', doc: '(offset, data)' },
  { code: 0x6a, name: 'stable64_read', method: 'stable64Read', pops: [L, L], pushes: [B], ic0: 'stable64_read', doc: '(offset, size)' },
  { code: 0x6b, name: 'certified_data_set', method: 'certifiedDataSet', pops: [B], pushes: [], ic0: 'certified_data_set', doc: '' },
  { code: 0x6c, name: 'data_certificate_present', method: 'dataCertificatePresent', pops: [], pushes: [I], ic0: 'data_certificate_present', doc: '' },
  { code: 0x6d, name: 'data_certificate_size', method: 'dataCertificateSize', pops: [], pushes: [I], ic0: 'data_certificate_size', doc: '' },
  { code: 0x6e, name: 'data_certificate_copy', method: 'dataCertificateCopy', pops: [I, I], pushes: [B], ic0: 'data_certificate_copy', doc: '(offset, size)' },
  { code: 0x6f, name: 'time', method: 'time', pops: [], pushes: [L], ic0: 'time', doc: 'nanoseconds since 1970' },
  { code: 0x70, name: 'global_timer_set', method: 'globalTimerSet', pops: [L], pushes: [L], ic0: 'global_timer_set', doc: '(timestamp) → previous' },
  { code: 0x71, name: 'performance_counter', method: 'performanceCounter', pops: [I], pushes: [L], ic0: 'performance_counter', doc: '(type) → counter' },
  { code: 0x72, name: 'is_controller', method: 'isController', pops: [B], pushes: [I], ic0: 'is_controller', doc: '(principal) → 0 or 1' },
  { code: 0x73, name: 'in_replicated_execution', method: 'inReplicatedExecution', pops: [], pushes: [I], ic0: 'in_replicated_execution', doc: '' },
  { code: 0x74, name: 'debug_print', method: 'debugPrint', pops: [B], pushes: [], ic0: 'debug_print', doc: '' },
  { code: 0x75, name: 'trap', method: 'trap', pops: [B], pushes: 'diverges', ic0: 'trap', doc: 'ic0.trap with the blob as message' },
] as const satisfies readonly OpInfo[];

export type OpName = (typeof OPS)[number]['name'];
type Op = (typeof OPS)[number];
/** Ops without an immediate. */
type PlainOp = Exclude<Op, { imm: string }>;
export type PlainOpName = PlainOp['name'];

const BY_CODE: ReadonlyMap<number, OpInfo> = new Map(OPS.map((o) => [o.code, o]));
const BY_NAME: ReadonlyMap<string, OpInfo> = new Map(OPS.map((o) => [o.name, o]));

/** The op with this code or name. */
export const opInfo = (op: number | string): OpInfo | undefined => (typeof op === 'number' ? BY_CODE.get(op) : BY_NAME.get(op));

/** The stack effect as written in universal.wat's header: `[i32 blob] -> [i64]`, `-> [...]` (dynamic), `-> !` (diverges). */
export const effectText = (o: OpInfo): string =>
  `[${o.pops.join(' ')}] -> ${o.pushes === 'dynamic' ? '[...]' : o.pushes === 'diverges' ? '!' : `[${o.pushes.join(' ')}]`}`;

// ---------------------------------------------------------------------------------------------
// Instructions, encoding and decoding

export type Instr =
  | { readonly op: 'push_i32'; readonly value: number }
  | { readonly op: 'push_i64'; readonly value: bigint }
  | { readonly op: 'push_blob'; readonly value: Uint8Array }
  | { readonly op: PlainOpName };

const utf8 = new TextEncoder();
export type BytesLike = Uint8Array | string;
const bytesOf = (b: BytesLike): Uint8Array => (typeof b === 'string' ? utf8.encode(b) : b);

const u32le = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
};
const u64le = (n: bigint): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, n), true);
  return b;
};

const concatBytes = (parts: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

const codeOf = (name: string): number => {
  const o = BY_NAME.get(name);
  if (o === undefined) throw new Error(`universal: unknown op ${name}`);
  return o.code;
};

const encodeInstr = (i: Instr): Uint8Array => {
  switch (i.op) {
    case 'push_i32':
      return concatBytes([Uint8Array.of(0x01), u32le(i.value)]);
    case 'push_i64':
      return concatBytes([Uint8Array.of(0x02), u64le(i.value)]);
    case 'push_blob':
      return concatBytes([Uint8Array.of(0x03), u32le(i.value.length), i.value]);
    default:
      return Uint8Array.of(codeOf(i.op));
  }
};

/** The bytes of a list of instructions. */
export const encodeProgram = (instrs: readonly Instr[]): Uint8Array => concatBytes(instrs.map(encodeInstr));

/** The instructions of a program (push_i32 and push_i64 values unsigned); throws on an unknown opcode or a truncated immediate. */
export const decodeProgram = (bytes: Uint8Array): readonly Instr[] => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Instr[] = [];
  let pc = 0;
  const need = (n: number, at: number, name: string): void => {
    if (pc + n > bytes.length) throw new Error(`universal: truncated ${name} at byte ${at} (needs ${n} bytes, ${bytes.length - pc} left)`);
  };
  while (pc < bytes.length) {
    const at = pc;
    const code = bytes[pc++]!;
    const o = BY_CODE.get(code);
    if (o === undefined) throw new Error(`universal: unknown opcode 0x${code.toString(16).padStart(2, '0')} at byte ${at}`);
    if (o.imm === 'u32') {
      need(4, at, o.name);
      out.push({ op: 'push_i32', value: view.getUint32(pc, true) });
      pc += 4;
    } else if (o.imm === 'u64') {
      need(8, at, o.name);
      out.push({ op: 'push_i64', value: view.getBigUint64(pc, true) });
      pc += 8;
    } else if (o.imm === 'blob') {
      need(4, at, o.name);
      const len = view.getUint32(pc, true);
      pc += 4;
      need(len, at, o.name);
      out.push({ op: 'push_blob', value: bytes.slice(pc, pc + len) });
      pc += len;
    } else out.push({ op: o.name as PlainOpName });
  }
  return out;
};

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const printable = (b: Uint8Array): boolean => b.length > 0 && b.every((x) => x >= 0x20 && x < 0x7f);

/** A program as text, one instruction a line (blobs in hex, and as text when printable). */
export const disassemble = (bytes: Uint8Array): string =>
  decodeProgram(bytes)
    .map((i) =>
      i.op === 'push_i32' || i.op === 'push_i64'
        ? `${i.op} ${i.value}`
        : i.op === 'push_blob'
          ? `push_blob 0x${hex(i.value)}${printable(i.value) ? ` ${JSON.stringify(new TextDecoder().decode(i.value))}` : ''}`
          : i.op,
    )
    .join('\n');

/**
 * Check a program's stack types statically, from an empty stack: returns undefined if every op
 * finds operands of its types, else the first problem. Checking stops (successfully) at the
 * first op whose effect depends on a program it runs (eval, if, loop) or that never returns.
 */
export const typecheck = (bytes: Uint8Array): string | undefined => {
  const stack: Ty[] = [];
  let n = 0;
  for (const i of decodeProgram(bytes)) {
    const o = BY_NAME.get(i.op)!;
    const args: Ty[] = [];
    for (const want of [...o.pops].reverse()) {
      const got = stack.pop();
      if (got === undefined) return `instruction ${n} (${o.name}): stack underflow`;
      if (want !== 'any' && got !== 'any' && got !== want) return `instruction ${n} (${o.name}): expected ${want}, found ${got}`;
      args.unshift(got);
    }
    if (o.pushes === 'dynamic' || o.pushes === 'diverges') return undefined;
    if (o.name === 'dup') stack.push(args[0]!, args[0]!);
    else if (o.name === 'swap') stack.push(args[1]!, args[0]!);
    else stack.push(...o.pushes);
    n++;
  }
  return undefined;
};

// ---------------------------------------------------------------------------------------------
// The builder

/** Methods appending one immediate-free op each, generated from OPS. */
type PlainMethods = { readonly [O in PlainOp as O['method']]: () => Prog };

export interface CallSpec {
  /** The callee's principal (bytes). */
  readonly callee: Uint8Array;
  readonly method: string;
  readonly arg?: BytesLike;
  /** Run in the reply callback; default: relay the reply (reply with the same bytes). */
  readonly onReply?: Prog;
  /** Run in the reject callback; default: relay the reject (reject with the same message). */
  readonly onReject?: Prog;
  /** Run in the cleanup callback (`call_on_cleanup`), if given. */
  readonly onCleanup?: Prog;
  /** Cycles to attach (call_cycles_add128). */
  readonly cycles?: bigint;
  /** A best-effort call with this timeout (call_with_best_effort_response). */
  readonly timeoutSeconds?: number;
}

/** An immutable program under construction; every method returns a new, longer program. */
export interface Prog extends PlainMethods {}
export class Prog {
  private constructor(private readonly parts: readonly Uint8Array[]) {}

  static readonly empty: Prog = new Prog([]);

  /** Append raw bytes (no check). */
  raw(bytes: Uint8Array): Prog {
    return new Prog([...this.parts, bytes]);
  }

  /** Append another program's ops. */
  then(p: Prog): Prog {
    return new Prog([...this.parts, ...p.parts]);
  }

  pushI32(n: number): Prog {
    return this.raw(encodeInstr({ op: 'push_i32', value: n }));
  }

  pushI64(n: bigint | number): Prog {
    return this.raw(encodeInstr({ op: 'push_i64', value: BigInt(n) }));
  }

  /** Push a blob (a string is pushed as its UTF-8 bytes). */
  pushBytes(b: BytesLike): Prog {
    return this.raw(encodeInstr({ op: 'push_blob', value: bytesOf(b) }));
  }

  /** Push a program as a blob (for eval, if, loop, call_new, set_heartbeat, …). */
  pushProg(p: Prog): Prog {
    return this.pushBytes(p.build());
  }

  // Blob-valued System API data, whole (offset 0, full size).
  /** The whole argument (in a reply callback: the reply data). */
  msgArgData(): Prog {
    return this.pushI32(0).msgArgDataSize().msgArgDataCopy();
  }
  caller(): Prog {
    return this.pushI32(0).msgCallerSize().msgCallerCopy();
  }
  canisterSelf(): Prog {
    return this.pushI32(0).canisterSelfSize().canisterSelfCopy();
  }
  rejectMsg(): Prog {
    return this.pushI32(0).msgRejectMsgSize().msgRejectMsgCopy();
  }
  methodName(): Prog {
    return this.pushI32(0).msgMethodNameSize().msgMethodNameCopy();
  }
  dataCertificate(): Prog {
    return this.pushI32(0).dataCertificateSize().dataCertificateCopy();
  }

  /** Reply with these bytes. */
  replyData(b: BytesLike): Prog {
    return this.pushBytes(b).replyDataAppend().reply();
  }
  /** Reply with the blob on top of the stack. */
  replyBlob(): Prog {
    return this.replyDataAppend().reply();
  }
  /** Reject with this message. */
  rejectWith(message: BytesLike): Prog {
    return this.pushBytes(message).reject();
  }
  /** Store a blob in the global. */
  setGlobalTo(b: BytesLike): Prog {
    return this.pushBytes(b).setGlobal();
  }

  /** call_new (with program callbacks), data, cycles, cleanup, call_perform: leaves call_perform's error code (i32) on the stack. */
  callSimple(c: CallSpec): Prog {
    let p = this.pushBytes(c.callee)
      .pushBytes(c.method)
      .pushProg(c.onReply ?? RELAY_REPLY)
      .pushProg(c.onReject ?? RELAY_REJECT)
      .callNew();
    if (c.onCleanup !== undefined) p = p.pushProg(c.onCleanup).callOnCleanup();
    if (c.timeoutSeconds !== undefined) p = p.pushI32(c.timeoutSeconds).callWithBestEffortResponse();
    if (c.arg !== undefined) p = p.pushBytes(c.arg).callDataAppend();
    if (c.cycles !== undefined) p = p.pushI64(c.cycles >> 64n).pushI64(BigInt.asUintN(64, c.cycles)).callCyclesAdd128();
    return p.callPerform();
  }

  /** The program's bytes. */
  build(): Uint8Array {
    return concatBytes(this.parts);
  }
}

for (const o of OPS)
  if (!('imm' in o))
    Object.defineProperty(Prog.prototype, o.method, {
      value: function (this: Prog): Prog {
        return this.raw(Uint8Array.of(o.code));
      },
      writable: false,
      enumerable: false,
      configurable: false,
    });

/** An empty program to extend. */
export const prog = (): Prog => Prog.empty;

/** Reply with the bytes received (the argument; in a reply callback the reply). */
export const RELAY_REPLY: Prog = prog().msgArgData().replyBlob();
/** Reject with the reject message received (in a reject callback). */
export const RELAY_REJECT: Prog = prog().rejectMsg().reject();
