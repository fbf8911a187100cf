;; universal: THE UNIVERSAL TEST CANISTER. An interpreter of byte-coded programs of System API
;; calls, so that a test can express any sequence of calls without writing a new module.
;; The TypeScript side (op table, builder, encoder, decoder) is src/toolchain/universal.ts;
;; a test keeps the op table below and universal.ts's OPS equal.
;;
;; ENTRY POINTS
;;   canister_update update, canister_query query, canister_composite_query composite_query,
;;   canister_init, canister_post_upgrade
;;       run the message's argument as a program (an empty argument does nothing)
;;   canister_pre_upgrade, canister_heartbeat, canister_global_timer
;;       run the program stored by set_pre_upgrade / set_heartbeat / set_global_timer
;;       (nothing if none is stored)
;;   canister_inspect_message
;;       runs the program stored by set_inspect_message (which must call accept_message to
;;       accept); if none was ever stored, accepts every message
;;   table[0] reply, table[1] reject, table[2] cleanup callbacks
;;       env = the address of a callback record made by call_new; each runs the record's
;;       on_reply / on_reject / on_cleanup program (env 0: nothing)
;;   The memory and the table are exported as `memory` and `table`.
;;
;; PROGRAMS
;;   A program is a sequence of ops: an opcode byte, then the op's immediate if it has one
;;   (<u32>: 4 bytes little-endian; <u64>: 8 bytes LE; <len,bytes>: a 4-byte LE length, then
;;   the bytes). Ops pop operands from and push results to a stack of typed values: i32, i64
;;   and blob (bytes held in Wasm memory). In the table, [a b] -> [c] pops b (the top), then a,
;;   and pushes c; `any` is a value of any type; [...] means whatever the program run leaves;
;;   ! means the op does not return. An operand of the wrong type, an empty stack, an unknown
;;   opcode or a truncated immediate trap with "universal canister: <what> (op 0xNN at byte N)".
;;   Blob results of the *_copy ops and the 128-bit ops are fresh copies; 128-bit values are
;;   16 bytes little-endian. Nested programs (for eval, if, loop, call_new, set_heartbeat, …)
;;   are blobs. The stack is empty when a program starts and is discarded when it ends.
;;
;;   Ops 0x40-0x75 call the System API function of the same name (ic0.<name>), except
;;   call_new_raw (ic0.call_new) and call_on_cleanup_raw (ic0.call_on_cleanup).
;;   *_copy ops take (offset, size) and copy into fresh memory (the destination is the
;;   canister's choice). call_new copies on_reply and on_reject into a callback record and
;;   passes table 0 and 1 with the record's address as env; call_on_cleanup stores its program
;;   in the record of the last call_new of this message (or a fresh record) and passes table 2.
;;   call_new_raw and call_on_cleanup_raw pass the table indices and envs given, unchecked.
;;
;;   code  name <immediate>                stack effect                meaning
;;   0x00  nop                             [] -> []                    nothing
;;   0x01  push_i32 <u32>                  [] -> [i32]                 push the immediate (4 bytes LE)
;;   0x02  push_i64 <u64>                  [] -> [i64]                 push the immediate (8 bytes LE)
;;   0x03  push_blob <len,bytes>           [] -> [blob]                push the immediate (4-byte LE length, bytes)
;;   0x04  drop                            [any] -> []                 discard the top value
;;   0x05  dup                             [any] -> [any any]          duplicate the top value
;;   0x06  swap                            [any any] -> [any any]      swap the two top values
;;   0x07  concat                          [blob blob] -> [blob]       a ‖ b
;;   0x08  blob_size                       [blob] -> [i32]             length of the blob
;;   0x09  slice                           [blob i32 i32] -> [blob]    blob[offset .. offset+length]; traps out of range
;;   0x0a  blob_eq                         [blob blob] -> [i32]        1 if equal, else 0
;;   0x0b  repeat                          [blob i32] -> [blob]        the blob repeated n times
;;   0x0c  i32_to_blob                     [i32] -> [blob]             4 bytes LE
;;   0x0d  i64_to_blob                     [i64] -> [blob]             8 bytes LE
;;   0x0e  blob_to_i32                     [blob] -> [i32]             a blob of at most 4 bytes, LE, zero-extended
;;   0x0f  blob_to_i64                     [blob] -> [i64]             a blob of at most 8 bytes, LE, zero-extended
;;   0x10  i32_add                         [i32 i32] -> [i32]          a + b (wrapping)
;;   0x11  i32_sub                         [i32 i32] -> [i32]          a - b (wrapping)
;;   0x12  i32_mul                         [i32 i32] -> [i32]          a * b (wrapping)
;;   0x13  i32_div_u                       [i32 i32] -> [i32]          a / b unsigned; traps if b = 0
;;   0x14  i32_rem_u                       [i32 i32] -> [i32]          a % b unsigned; traps if b = 0
;;   0x15  i32_and                         [i32 i32] -> [i32]          a & b
;;   0x16  i32_or                          [i32 i32] -> [i32]          a | b
;;   0x17  i32_eq                          [i32 i32] -> [i32]          a = b
;;   0x18  i32_lt_u                        [i32 i32] -> [i32]          a < b unsigned
;;   0x19  i32_eqz                         [i32] -> [i32]              a = 0
;;   0x1a  i64_add                         [i64 i64] -> [i64]          a + b (wrapping)
;;   0x1b  i64_sub                         [i64 i64] -> [i64]          a - b (wrapping)
;;   0x1c  i64_mul                         [i64 i64] -> [i64]          a * b (wrapping)
;;   0x1d  i64_div_u                       [i64 i64] -> [i64]          a / b unsigned; traps if b = 0
;;   0x1e  i64_eq                          [i64 i64] -> [i32]          a = b
;;   0x1f  i64_lt_u                        [i64 i64] -> [i32]          a < b unsigned
;;   0x20  i32_to_i64                      [i32] -> [i64]              zero-extend
;;   0x21  i64_to_i32                      [i64] -> [i32]              wrap
;;   0x22  i64_to_decimal                  [i64] -> [blob]             unsigned decimal text
;;   0x28  eval                            [blob] -> [...]             run the blob as a program (same stack)
;;   0x29  if                              [i32 blob blob] -> [...]    run `then` if cond ≠ 0, else `else`
;;   0x2a  loop                            [blob i32] -> [...]         run the program n times
;;   0x2b  spin                            [] -> !                     loop forever (until the instruction limit)
;;   0x2c  unreachable                     [] -> !                     the Wasm `unreachable` trap
;;   0x2d  memory_size                     [] -> [i32]                 Wasm memory size in pages
;;   0x2e  memory_grow                     [i32] -> [i32]              memory.grow: the old size, or -1
;;   0x30  set_global                      [blob] -> []                store the blob in the global (Wasm memory)
;;   0x31  get_global                      [] -> [blob]                the global (empty until set)
;;   0x32  append_global                   [blob] -> []                global := global ‖ blob
;;   0x33  set_stable_global               [blob] -> []                store the blob at stable memory offset 0 (4-byte LE length, bytes)
;;   0x34  get_stable_global               [] -> [blob]                the stable global (empty if stable memory is empty)
;;   0x35  set_pre_upgrade                 [blob] -> []                program run by canister_pre_upgrade
;;   0x36  set_heartbeat                   [blob] -> []                program run by canister_heartbeat
;;   0x37  set_global_timer                [blob] -> []                program run by canister_global_timer
;;   0x38  set_inspect_message             [blob] -> []                program run by canister_inspect_message
;;   0x40  msg_arg_data_size               [] -> [i32]
;;   0x41  msg_arg_data_copy               [i32 i32] -> [blob]         (offset, size)
;;   0x42  msg_caller_size                 [] -> [i32]
;;   0x43  msg_caller_copy                 [i32 i32] -> [blob]         (offset, size)
;;   0x44  msg_reject_code                 [] -> [i32]
;;   0x45  msg_reject_msg_size             [] -> [i32]
;;   0x46  msg_reject_msg_copy             [i32 i32] -> [blob]         (offset, size)
;;   0x47  msg_reply_data_append           [blob] -> []
;;   0x48  msg_reply                       [] -> []
;;   0x49  msg_reject                      [blob] -> []
;;   0x4a  msg_cycles_available            [] -> [i64]
;;   0x4b  msg_cycles_available128         [] -> [blob]                16 bytes LE
;;   0x4c  msg_cycles_refunded             [] -> [i64]
;;   0x4d  msg_cycles_refunded128          [] -> [blob]                16 bytes LE
;;   0x4e  msg_cycles_accept               [i64] -> [i64]              (max) → accepted
;;   0x4f  msg_cycles_accept128            [i64 i64] -> [blob]         (high, low) → accepted, 16 bytes LE
;;   0x50  cycles_burn128                  [i64 i64] -> [blob]         (high, low) → burned, 16 bytes LE
;;   0x51  canister_self_size              [] -> [i32]
;;   0x52  canister_self_copy              [i32 i32] -> [blob]         (offset, size)
;;   0x53  canister_cycle_balance          [] -> [i64]
;;   0x54  canister_cycle_balance128       [] -> [blob]                16 bytes LE
;;   0x55  canister_status                 [] -> [i32]                 1 running, 2 stopping, 3 stopped
;;   0x56  canister_version                [] -> [i64]
;;   0x57  msg_method_name_size            [] -> [i32]
;;   0x58  msg_method_name_copy            [i32 i32] -> [blob]         (offset, size)
;;   0x59  accept_message                  [] -> []
;;   0x5a  call_new                        [blob blob blob blob] -> [] (callee, method, on_reply, on_reject): the callbacks run the two programs
;;   0x5b  call_new_raw                    [blob blob i32 i32 i32 i32] -> [] (callee, method, reply_fun, reply_env, reject_fun, reject_env), as given
;;   0x5c  call_on_cleanup                 [blob] -> []                the cleanup callback runs the program
;;   0x5d  call_on_cleanup_raw             [i32 i32] -> []             (fun, env), as given
;;   0x5e  call_data_append                [blob] -> []
;;   0x5f  call_cycles_add                 [i64] -> []
;;   0x60  call_cycles_add128              [i64 i64] -> []             (high, low)
;;   0x61  call_perform                    [] -> [i32]                 error code (0 = ok)
;;   0x62  call_with_best_effort_response  [i32] -> []                 (timeout_seconds)
;;   0x63  stable_size                     [] -> [i32]
;;   0x64  stable_grow                     [i32] -> [i32]              (pages) → old size or -1
;;   0x65  stable_write                    [i32 blob] -> []            (offset, data)
;;   0x66  stable_read                     [i32 i32] -> [blob]         (offset, size)
;;   0x67  stable64_size                   [] -> [i64]
;;   0x68  stable64_grow                   [i64] -> [i64]              (pages) → old size or -1
;;   0x69  stable64_write                  [i64 blob] -> []            (offset, data)
;;   0x6a  stable64_read                   [i64 i64] -> [blob]         (offset, size)
;;   0x6b  certified_data_set              [blob] -> []
;;   0x6c  data_certificate_present        [] -> [i32]
;;   0x6d  data_certificate_size           [] -> [i32]
;;   0x6e  data_certificate_copy           [i32 i32] -> [blob]         (offset, size)
;;   0x6f  time                            [] -> [i64]                 nanoseconds since 1970
;;   0x70  global_timer_set                [i64] -> [i64]              (timestamp) → previous
;;   0x71  performance_counter             [i32] -> [i64]              (type) → counter
;;   0x72  is_controller                   [blob] -> [i32]             (principal) → 0 or 1
;;   0x73  in_replicated_execution         [] -> [i32]
;;   0x74  debug_print                     [blob] -> []
;;   0x75  trap                            [blob] -> !                 ic0.trap with the blob as message
;;
;; MEMORY (one 32-bit memory, initially 1 page, grown on demand; all state is in memory, the
;; Wasm globals are reset at every entry point)
;;   0x0000  u32  top of the persistent heap (0: not yet used)
;;   0x0010  global blob slot           [addr u32, len u32, capacity u32]
;;   0x0020  pre_upgrade program slot   [addr, len, capacity]   (addr 0: never set)
;;   0x0030  heartbeat program slot
;;   0x0040  global_timer program slot
;;   0x0050  inspect_message program slot
;;   0x0100  constant strings (error messages)
;;   0x0BE0  decimal conversion buffer;  0x0C00  trap message buffer (1 KiB)
;;   0x1000  the value stack: 16-byte entries [tag u32 (1 i32, 2 i64, 3 blob), blob length u32,
;;           value i64 (blob: its address)], 1792 entries up to 0x8000
;;   0x8000  the heap: one bump allocator. Persistent data (the global, stored programs,
;;           callback records) moves the persistent top up; a message's scratch data lives above
;;           the persistent top and is forgotten when the message ends. Nothing is ever freed:
;;           every call_new keeps its record (24 bytes + the two programs), every set_<program>
;;           keeps a new copy, and scratch data below a later persistent allocation stays.
;; STABLE MEMORY: set_stable_global / get_stable_global use bytes [0, 4 + length) of stable
;;   memory (64-bit API), growing it as needed; the other stable ops use it as the test says.
;; An upgrade wipes Wasm memory: stored programs and the global are gone after it (store them
;; again from the post_upgrade argument); the stable global stays.
(module
  ;; --- the System API: every function of the interface spec's "Overview of imports", plus
  ;; call_with_best_effort_response
  (import "ic0" "msg_arg_data_size" (func $ic0.msg_arg_data_size (result i32)))
  (import "ic0" "msg_arg_data_copy" (func $ic0.msg_arg_data_copy (param i32 i32 i32)))
  (import "ic0" "msg_caller_size" (func $ic0.msg_caller_size (result i32)))
  (import "ic0" "msg_caller_copy" (func $ic0.msg_caller_copy (param i32 i32 i32)))
  (import "ic0" "msg_reject_code" (func $ic0.msg_reject_code (result i32)))
  (import "ic0" "msg_reject_msg_size" (func $ic0.msg_reject_msg_size (result i32)))
  (import "ic0" "msg_reject_msg_copy" (func $ic0.msg_reject_msg_copy (param i32 i32 i32)))
  (import "ic0" "msg_reply_data_append" (func $ic0.msg_reply_data_append (param i32 i32)))
  (import "ic0" "msg_reply" (func $ic0.msg_reply))
  (import "ic0" "msg_reject" (func $ic0.msg_reject (param i32 i32)))
  (import "ic0" "msg_cycles_available" (func $ic0.msg_cycles_available (result i64)))
  (import "ic0" "msg_cycles_available128" (func $ic0.msg_cycles_available128 (param i32)))
  (import "ic0" "msg_cycles_refunded" (func $ic0.msg_cycles_refunded (result i64)))
  (import "ic0" "msg_cycles_refunded128" (func $ic0.msg_cycles_refunded128 (param i32)))
  (import "ic0" "msg_cycles_accept" (func $ic0.msg_cycles_accept (param i64) (result i64)))
  (import "ic0" "msg_cycles_accept128" (func $ic0.msg_cycles_accept128 (param i64 i64 i32)))
  (import "ic0" "cycles_burn128" (func $ic0.cycles_burn128 (param i64 i64 i32)))
  (import "ic0" "canister_self_size" (func $ic0.canister_self_size (result i32)))
  (import "ic0" "canister_self_copy" (func $ic0.canister_self_copy (param i32 i32 i32)))
  (import "ic0" "canister_cycle_balance" (func $ic0.canister_cycle_balance (result i64)))
  (import "ic0" "canister_cycle_balance128" (func $ic0.canister_cycle_balance128 (param i32)))
  (import "ic0" "canister_status" (func $ic0.canister_status (result i32)))
  (import "ic0" "canister_version" (func $ic0.canister_version (result i64)))
  (import "ic0" "msg_method_name_size" (func $ic0.msg_method_name_size (result i32)))
  (import "ic0" "msg_method_name_copy" (func $ic0.msg_method_name_copy (param i32 i32 i32)))
  (import "ic0" "accept_message" (func $ic0.accept_message))
  (import "ic0" "call_new" (func $ic0.call_new (param i32 i32 i32 i32 i32 i32 i32 i32)))
  (import "ic0" "call_on_cleanup" (func $ic0.call_on_cleanup (param i32 i32)))
  (import "ic0" "call_data_append" (func $ic0.call_data_append (param i32 i32)))
  (import "ic0" "call_cycles_add" (func $ic0.call_cycles_add (param i64)))
  (import "ic0" "call_cycles_add128" (func $ic0.call_cycles_add128 (param i64 i64)))
  (import "ic0" "call_perform" (func $ic0.call_perform (result i32)))
  (import "ic0" "call_with_best_effort_response" (func $ic0.call_with_best_effort_response (param i32)))
  (import "ic0" "stable_size" (func $ic0.stable_size (result i32)))
  (import "ic0" "stable_grow" (func $ic0.stable_grow (param i32) (result i32)))
  (import "ic0" "stable_write" (func $ic0.stable_write (param i32 i32 i32)))
  (import "ic0" "stable_read" (func $ic0.stable_read (param i32 i32 i32)))
  (import "ic0" "stable64_size" (func $ic0.stable64_size (result i64)))
  (import "ic0" "stable64_grow" (func $ic0.stable64_grow (param i64) (result i64)))
  (import "ic0" "stable64_write" (func $ic0.stable64_write (param i64 i64 i64)))
  (import "ic0" "stable64_read" (func $ic0.stable64_read (param i64 i64 i64)))
  (import "ic0" "certified_data_set" (func $ic0.certified_data_set (param i32 i32)))
  (import "ic0" "data_certificate_present" (func $ic0.data_certificate_present (result i32)))
  (import "ic0" "data_certificate_size" (func $ic0.data_certificate_size (result i32)))
  (import "ic0" "data_certificate_copy" (func $ic0.data_certificate_copy (param i32 i32 i32)))
  (import "ic0" "time" (func $ic0.time (result i64)))
  (import "ic0" "global_timer_set" (func $ic0.global_timer_set (param i64) (result i64)))
  (import "ic0" "performance_counter" (func $ic0.performance_counter (param i32) (result i64)))
  (import "ic0" "is_controller" (func $ic0.is_controller (param i32 i32) (result i32)))
  (import "ic0" "in_replicated_execution" (func $ic0.in_replicated_execution (result i32)))
  (import "ic0" "debug_print" (func $ic0.debug_print (param i32 i32)))
  (import "ic0" "trap" (func $ic0.trap (param i32 i32)))

  (type $op (func))
  (type $callback (func (param i32)))

  (memory (export "memory") 1)

  ;; 0-2: the callbacks; 16 + opcode: the op handlers (opcodes 0x00..0x75)
  (table (export "table") 134 funcref)
  (elem (i32.const 0) func $cb_reply $cb_reject $cb_cleanup)
  (elem (i32.const 16) func
    $op_nop $op_push_i32 $op_push_i64 $op_push_blob $op_drop $op_dup $op_swap $op_concat          ;; 00
    $op_blob_size $op_slice $op_blob_eq $op_repeat $op_i32_to_blob $op_i64_to_blob                ;; 08
    $op_blob_to_i32 $op_blob_to_i64
    $op_i32_add $op_i32_sub $op_i32_mul $op_i32_div_u $op_i32_rem_u $op_i32_and $op_i32_or        ;; 10
    $op_i32_eq $op_i32_lt_u $op_i32_eqz $op_i64_add $op_i64_sub $op_i64_mul $op_i64_div_u         ;; 18
    $op_i64_eq $op_i64_lt_u
    $op_i32_to_i64 $op_i64_to_i32 $op_i64_to_decimal $op_bad $op_bad $op_bad $op_bad $op_bad      ;; 20
    $op_eval $op_if $op_loop $op_spin $op_unreachable $op_memory_size $op_memory_grow $op_bad     ;; 28
    $op_set_global $op_get_global $op_append_global $op_set_stable_global                          ;; 30
    $op_get_stable_global $op_set_pre_upgrade $op_set_heartbeat $op_set_global_timer
    $op_set_inspect_message $op_bad $op_bad $op_bad $op_bad $op_bad $op_bad $op_bad               ;; 38
    $op_msg_arg_data_size $op_msg_arg_data_copy $op_msg_caller_size $op_msg_caller_copy            ;; 40
    $op_msg_reject_code $op_msg_reject_msg_size $op_msg_reject_msg_copy $op_msg_reply_data_append
    $op_msg_reply $op_msg_reject $op_msg_cycles_available $op_msg_cycles_available128              ;; 48
    $op_msg_cycles_refunded $op_msg_cycles_refunded128 $op_msg_cycles_accept $op_msg_cycles_accept128
    $op_cycles_burn128 $op_canister_self_size $op_canister_self_copy $op_canister_cycle_balance    ;; 50
    $op_canister_cycle_balance128 $op_canister_status $op_canister_version $op_msg_method_name_size
    $op_msg_method_name_copy $op_accept_message $op_call_new $op_call_new_raw                      ;; 58
    $op_call_on_cleanup $op_call_on_cleanup_raw $op_call_data_append $op_call_cycles_add
    $op_call_cycles_add128 $op_call_perform $op_call_with_best_effort_response $op_stable_size      ;; 60
    $op_stable_grow $op_stable_write $op_stable_read $op_stable64_size
    $op_stable64_grow $op_stable64_write $op_stable64_read $op_certified_data_set                  ;; 68
    $op_data_certificate_present $op_data_certificate_size $op_data_certificate_copy $op_time
    $op_global_timer_set $op_performance_counter $op_is_controller $op_in_replicated_execution    ;; 70
    $op_debug_print $op_trap)

  (data (i32.const 0x100) "stack underflow")
  (data (i32.const 0x120) "stack overflow")
  (data (i32.const 0x140) "type error: expected i32")
  (data (i32.const 0x160) "type error: expected i64")
  (data (i32.const 0x180) "type error: expected blob")
  (data (i32.const 0x1a0) "unknown opcode")
  (data (i32.const 0x1c0) "truncated program")
  (data (i32.const 0x1e0) "out of memory")
  (data (i32.const 0x200) "blob index out of range")
  (data (i32.const 0x220) "blob longer than 4 bytes")
  (data (i32.const 0x240) "blob longer than 8 bytes")
  (data (i32.const 0x260) "stable memory full")
  (data (i32.const 0x280) "universal canister: ")
  (data (i32.const 0x2a0) " (op 0x")
  (data (i32.const 0x2c0) " at byte ")
  (data (i32.const 0x2e0) ")")
  (data (i32.const 0x2f0) "0123456789abcdef")

  ;; Interpreter state, reset by $enter at every entry point.
  (global $sp (mut i32) (i32.const 0x1000))    ;; next free stack entry
  (global $pc (mut i32) (i32.const 0))         ;; next program byte
  (global $end (mut i32) (i32.const 0))        ;; end of the running program
  (global $start (mut i32) (i32.const 0))      ;; start of the running program
  (global $op (mut i32) (i32.const 0))         ;; the running opcode
  (global $op_pc (mut i32) (i32.const 0))      ;; its address
  (global $heap (mut i32) (i32.const 0x8000))  ;; the scratch heap top
  (global $rec (mut i32) (i32.const 0))        ;; the callback record of the last call_new
  (global $blen (mut i32) (i32.const 0))       ;; the length of the blob $pop_blob returned

  ;; ------------------------------------------------------------------------------------------
  ;; Errors

  ;; Unsigned decimal digits of $v at 0x0BE0; returns their count.
  (func $utoa (param $v i64) (result i32)
    (local $i i32)
    (local.set $i (i32.const 20))
    (loop $digit
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (i64.store8 (i32.add (i32.const 0x0be0) (local.get $i))
        (i64.add (i64.const 48) (i64.rem_u (local.get $v) (i64.const 10))))
      (local.set $v (i64.div_u (local.get $v) (i64.const 10)))
      (br_if $digit (i64.ne (local.get $v) (i64.const 0))))
    (memory.copy (i32.const 0x0be0) (i32.add (i32.const 0x0be0) (local.get $i)) (i32.sub (i32.const 20) (local.get $i)))
    (i32.sub (i32.const 20) (local.get $i)))

  ;; Trap with "universal canister: <msg> (op 0xNN at byte N)".
  (func $fail (param $msg i32) (param $len i32)
    (local $p i32) (local $n i32)
    (local.set $p (i32.const 0x0c00))
    (memory.copy (local.get $p) (i32.const 0x280) (i32.const 20))
    (local.set $p (i32.add (local.get $p) (i32.const 20)))
    (memory.copy (local.get $p) (local.get $msg) (local.get $len))
    (local.set $p (i32.add (local.get $p) (local.get $len)))
    (memory.copy (local.get $p) (i32.const 0x2a0) (i32.const 7))
    (local.set $p (i32.add (local.get $p) (i32.const 7)))
    (i32.store8 (local.get $p)
      (i32.load8_u (i32.add (i32.const 0x2f0) (i32.and (i32.shr_u (global.get $op) (i32.const 4)) (i32.const 15)))))
    (i32.store8 offset=1 (local.get $p)
      (i32.load8_u (i32.add (i32.const 0x2f0) (i32.and (global.get $op) (i32.const 15)))))
    (local.set $p (i32.add (local.get $p) (i32.const 2)))
    (memory.copy (local.get $p) (i32.const 0x2c0) (i32.const 9))
    (local.set $p (i32.add (local.get $p) (i32.const 9)))
    (local.set $n (call $utoa (i64.extend_i32_u (i32.sub (global.get $op_pc) (global.get $start)))))
    (memory.copy (local.get $p) (i32.const 0x0be0) (local.get $n))
    (local.set $p (i32.add (local.get $p) (local.get $n)))
    (i32.store8 (local.get $p) (i32.const 41)) ;; ')'
    (local.set $p (i32.add (local.get $p) (i32.const 1)))
    (call $ic0.trap (i32.const 0x0c00) (i32.sub (local.get $p) (i32.const 0x0c00)))
    unreachable)

  (func $fail_oom (call $fail (i32.const 0x1e0) (i32.const 13)))
  (func $fail_range (call $fail (i32.const 0x200) (i32.const 23)))

  ;; ------------------------------------------------------------------------------------------
  ;; Memory

  ;; Make memory [0, end) addressable.
  (func $ensure (param $end i64)
    (local $have i64)
    (local.set $have (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16)))
    (if (i64.gt_u (local.get $end) (local.get $have))
      (then
        (if (i64.gt_u (local.get $end) (i64.const 0x1_0000_0000)) (then (call $fail_oom)))
        (if (i32.eq (i32.const -1)
              (memory.grow (i32.wrap_i64 (i64.shr_u (i64.add (i64.sub (local.get $end) (local.get $have)) (i64.const 0xffff)) (i64.const 16)))))
          (then (call $fail_oom))))))

  ;; $n bytes of scratch memory (contents unspecified).
  (func $alloc (param $n i64) (result i32)
    (local $p i32) (local $end i64)
    (local.set $p (global.get $heap))
    (local.set $end (i64.add (i64.extend_i32_u (local.get $p)) (local.get $n)))
    (call $ensure (local.get $end))
    (global.set $heap (i32.wrap_i64 (local.get $end)))
    (local.get $p))

  (func $alloc32 (param $n i32) (result i32) (call $alloc (i64.extend_i32_u (local.get $n))))

  ;; $n bytes that persist across messages: the persistent top moves above them.
  (func $alloc_persist (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (call $alloc32 (local.get $n)))
    (i32.store (i32.const 0) (global.get $heap))
    (local.get $p))

  ;; A fresh scratch copy of [a, a+n).
  (func $copy (param $a i32) (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (call $alloc32 (local.get $n)))
    (memory.copy (local.get $p) (local.get $a) (local.get $n))
    (local.get $p))

  ;; ------------------------------------------------------------------------------------------
  ;; The value stack

  (func $push (param $tag i32) (param $len i32) (param $val i64)
    (if (i32.ge_u (global.get $sp) (i32.const 0x8000))
      (then (call $fail (i32.const 0x120) (i32.const 14))))
    (i32.store (global.get $sp) (local.get $tag))
    (i32.store offset=4 (global.get $sp) (local.get $len))
    (i64.store offset=8 (global.get $sp) (local.get $val))
    (global.set $sp (i32.add (global.get $sp) (i32.const 16))))

  (func $push_i32 (param $v i32) (call $push (i32.const 1) (i32.const 0) (i64.extend_i32_u (local.get $v))))
  (func $push_i64 (param $v i64) (call $push (i32.const 2) (i32.const 0) (local.get $v)))
  (func $push_blob (param $a i32) (param $n i32) (call $push (i32.const 3) (local.get $n) (i64.extend_i32_u (local.get $a))))

  ;; Pop an entry of type $tag (0: any); returns its address (valid until the next push).
  (func $pop (param $tag i32) (result i32)
    (if (i32.le_u (global.get $sp) (i32.const 0x1000))
      (then (call $fail (i32.const 0x100) (i32.const 15))))
    (global.set $sp (i32.sub (global.get $sp) (i32.const 16)))
    (if (i32.and (i32.ne (local.get $tag) (i32.const 0))
                 (i32.ne (i32.load (global.get $sp)) (local.get $tag)))
      (then (call $fail (i32.add (i32.const 0x120) (i32.shl (local.get $tag) (i32.const 5)))
                        (select (i32.const 25) (i32.const 24) (i32.eq (local.get $tag) (i32.const 3))))))
    (global.get $sp))

  (func $pop_i32 (result i32) (i32.wrap_i64 (i64.load offset=8 (call $pop (i32.const 1)))))
  (func $pop_i64 (result i64) (i64.load offset=8 (call $pop (i32.const 2))))
  ;; Pop a blob: returns its address, its length in $blen.
  (func $pop_blob (result i32)
    (local $e i32)
    (local.set $e (call $pop (i32.const 3)))
    (global.set $blen (i32.load offset=4 (local.get $e)))
    (i32.wrap_i64 (i64.load offset=8 (local.get $e))))

  ;; Push a fresh 16-byte blob for a 128-bit result; returns its address.
  (func $push_new16 (result i32)
    (local $p i32)
    (local.set $p (call $alloc32 (i32.const 16)))
    (call $push_blob (local.get $p) (i32.const 16))
    (local.get $p))

  ;; ------------------------------------------------------------------------------------------
  ;; The interpreter

  (func $enter
    (local $top i32)
    (local.set $top (i32.load (i32.const 0)))
    (global.set $heap (select (local.get $top) (i32.const 0x8000) (i32.gt_u (local.get $top) (i32.const 0x8000))))
    (global.set $sp (i32.const 0x1000))
    (global.set $rec (i32.const 0))
    (global.set $op (i32.const 0))
    (global.set $op_pc (i32.const 0))
    (global.set $start (i32.const 0))
    (global.set $pc (i32.const 0))
    (global.set $end (i32.const 0)))

  ;; Run the program at [a, a+n) on the current stack.
  (func $eval (param $a i32) (param $n i32)
    (local $pc i32) (local $end i32) (local $start i32) (local $op i32) (local $op_pc i32)
    (local.set $pc (global.get $pc))
    (local.set $end (global.get $end))
    (local.set $start (global.get $start))
    (local.set $op (global.get $op))
    (local.set $op_pc (global.get $op_pc))
    (global.set $pc (local.get $a))
    (global.set $start (local.get $a))
    (global.set $end (i32.add (local.get $a) (local.get $n)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (global.get $pc) (global.get $end)))
        (global.set $op_pc (global.get $pc))
        (global.set $op (i32.load8_u (global.get $pc)))
        (global.set $pc (i32.add (global.get $pc) (i32.const 1)))
        (if (i32.gt_u (global.get $op) (i32.const 0x75))
          (then (call $fail (i32.const 0x1a0) (i32.const 14))))
        (call_indirect (type $op) (i32.add (global.get $op) (i32.const 16)))
        (br $next)))
    (global.set $pc (local.get $pc))
    (global.set $end (local.get $end))
    (global.set $start (local.get $start))
    (global.set $op (local.get $op))
    (global.set $op_pc (local.get $op_pc)))

  ;; Trap unless $n more program bytes follow.
  (func $need (param $n i32)
    (if (i64.gt_u (i64.add (i64.extend_i32_u (global.get $pc)) (i64.extend_i32_u (local.get $n)))
                  (i64.extend_i32_u (global.get $end)))
      (then (call $fail (i32.const 0x1c0) (i32.const 17)))))

  (func $imm_u32 (result i32)
    (local $v i32)
    (call $need (i32.const 4))
    (local.set $v (i32.load (global.get $pc)))
    (global.set $pc (i32.add (global.get $pc) (i32.const 4)))
    (local.get $v))

  (func $imm_u64 (result i64)
    (local $v i64)
    (call $need (i32.const 8))
    (local.set $v (i64.load (global.get $pc)))
    (global.set $pc (i32.add (global.get $pc) (i32.const 8)))
    (local.get $v))

  ;; Run the message argument as a program.
  (func $run_arg
    (local $n i32) (local $p i32)
    (call $enter)
    (local.set $n (call $ic0.msg_arg_data_size))
    (local.set $p (call $alloc32 (local.get $n)))
    (call $ic0.msg_arg_data_copy (local.get $p) (i32.const 0) (local.get $n))
    (call $eval (local.get $p) (local.get $n)))

  ;; Run the program stored in a slot.
  (func $run_slot (param $slot i32)
    (call $enter)
    (call $eval (i32.load (local.get $slot)) (i32.load offset=4 (local.get $slot))))

  ;; Store a fresh persistent copy of [a, a+n) in a program slot (the old copy stays, unused).
  (func $slot_set_fresh (param $slot i32) (param $a i32) (param $n i32)
    (local $p i32)
    (local.set $p (call $alloc_persist (local.get $n)))
    (memory.copy (local.get $p) (local.get $a) (local.get $n))
    (i32.store (local.get $slot) (local.get $p))
    (i32.store offset=4 (local.get $slot) (local.get $n))
    (i32.store offset=8 (local.get $slot) (local.get $n)))

  ;; Store [a, a+n) in a slot, in place if it fits (the global).
  (func $slot_set_reuse (param $slot i32) (param $a i32) (param $n i32)
    (local $cap i32) (local $p i32)
    (local.set $cap (i32.load offset=8 (local.get $slot)))
    (if (i32.and (i32.ne (i32.load (local.get $slot)) (i32.const 0)) (i32.le_u (local.get $n) (local.get $cap)))
      (then
        (memory.copy (i32.load (local.get $slot)) (local.get $a) (local.get $n))
        (i32.store offset=4 (local.get $slot) (local.get $n)))
      (else
        (local.set $cap (select (local.get $n) (i32.shl (local.get $cap) (i32.const 1))
                                (i32.gt_u (local.get $n) (i32.shl (local.get $cap) (i32.const 1)))))
        (local.set $p (call $alloc_persist (local.get $cap)))
        (memory.copy (local.get $p) (local.get $a) (local.get $n))
        (i32.store (local.get $slot) (local.get $p))
        (i32.store offset=4 (local.get $slot) (local.get $n))
        (i32.store offset=8 (local.get $slot) (local.get $cap)))))

  ;; ------------------------------------------------------------------------------------------
  ;; Entry points and callbacks

  (func (export "canister_update update") (call $run_arg))
  (func (export "canister_query query") (call $run_arg))
  (func (export "canister_composite_query composite_query") (call $run_arg))
  (func (export "canister_init") (call $run_arg))
  (func (export "canister_post_upgrade") (call $run_arg))
  (func (export "canister_pre_upgrade") (call $run_slot (i32.const 0x20)))
  (func (export "canister_heartbeat") (call $run_slot (i32.const 0x30)))
  (func (export "canister_global_timer") (call $run_slot (i32.const 0x40)))
  (func (export "canister_inspect_message")
    (if (i32.eqz (i32.load (i32.const 0x50)))
      (then (call $ic0.accept_message))
      (else (call $run_slot (i32.const 0x50)))))

  ;; A callback record: [on_reply addr, len, on_reject addr, len, on_cleanup addr, len].
  (func $cb_reply (type $callback) (param $env i32)
    (call $enter)
    (if (local.get $env)
      (then (call $eval (i32.load (local.get $env)) (i32.load offset=4 (local.get $env))))))
  (func $cb_reject (type $callback) (param $env i32)
    (call $enter)
    (if (local.get $env)
      (then (call $eval (i32.load offset=8 (local.get $env)) (i32.load offset=12 (local.get $env))))))
  (func $cb_cleanup (type $callback) (param $env i32)
    (call $enter)
    (if (local.get $env)
      (then (call $eval (i32.load offset=16 (local.get $env)) (i32.load offset=20 (local.get $env))))))

  ;; ------------------------------------------------------------------------------------------
  ;; Ops: values

  (func $op_bad (type $op) (call $fail (i32.const 0x1a0) (i32.const 14)))
  (func $op_nop (type $op))
  (func $op_push_i32 (type $op) (call $push_i32 (call $imm_u32)))
  (func $op_push_i64 (type $op) (call $push_i64 (call $imm_u64)))
  (func $op_push_blob (type $op)
    (local $n i32)
    (local.set $n (call $imm_u32))
    (call $need (local.get $n))
    (call $push_blob (global.get $pc) (local.get $n))
    (global.set $pc (i32.add (global.get $pc) (local.get $n))))
  (func $op_drop (type $op) (drop (call $pop (i32.const 0))))
  (func $op_dup (type $op)
    (local $e i32) (local $tag i32) (local $len i32) (local $val i64)
    (local.set $e (call $pop (i32.const 0)))
    (local.set $tag (i32.load (local.get $e)))
    (local.set $len (i32.load offset=4 (local.get $e)))
    (local.set $val (i64.load offset=8 (local.get $e)))
    (call $push (local.get $tag) (local.get $len) (local.get $val))
    (call $push (local.get $tag) (local.get $len) (local.get $val)))
  (func $op_swap (type $op)
    (local $e i32) (local $tag i32) (local $len i32) (local $val i64)
    (local $tag2 i32) (local $len2 i32) (local $val2 i64)
    (local.set $e (call $pop (i32.const 0)))
    (local.set $tag (i32.load (local.get $e)))
    (local.set $len (i32.load offset=4 (local.get $e)))
    (local.set $val (i64.load offset=8 (local.get $e)))
    (local.set $e (call $pop (i32.const 0)))
    (local.set $tag2 (i32.load (local.get $e)))
    (local.set $len2 (i32.load offset=4 (local.get $e)))
    (local.set $val2 (i64.load offset=8 (local.get $e)))
    (call $push (local.get $tag) (local.get $len) (local.get $val))
    (call $push (local.get $tag2) (local.get $len2) (local.get $val2)))
  (func $op_concat (type $op)
    (local $a i32) (local $an i32) (local $b i32) (local $bn i32) (local $p i32)
    (local.set $b (call $pop_blob)) (local.set $bn (global.get $blen))
    (local.set $a (call $pop_blob)) (local.set $an (global.get $blen))
    (local.set $p (call $alloc (i64.add (i64.extend_i32_u (local.get $an)) (i64.extend_i32_u (local.get $bn)))))
    (memory.copy (local.get $p) (local.get $a) (local.get $an))
    (memory.copy (i32.add (local.get $p) (local.get $an)) (local.get $b) (local.get $bn))
    (call $push_blob (local.get $p) (i32.add (local.get $an) (local.get $bn))))
  (func $op_blob_size (type $op)
    (drop (call $pop_blob))
    (call $push_i32 (global.get $blen)))
  (func $op_slice (type $op)
    (local $len i32) (local $off i32) (local $a i32)
    (local.set $len (call $pop_i32))
    (local.set $off (call $pop_i32))
    (local.set $a (call $pop_blob))
    (if (i64.gt_u (i64.add (i64.extend_i32_u (local.get $off)) (i64.extend_i32_u (local.get $len)))
                  (i64.extend_i32_u (global.get $blen)))
      (then (call $fail_range)))
    (call $push_blob (i32.add (local.get $a) (local.get $off)) (local.get $len)))
  (func $op_blob_eq (type $op)
    (local $a i32) (local $an i32) (local $b i32) (local $bn i32) (local $i i32) (local $eq i32)
    (local.set $b (call $pop_blob)) (local.set $bn (global.get $blen))
    (local.set $a (call $pop_blob)) (local.set $an (global.get $blen))
    (local.set $eq (i32.eq (local.get $an) (local.get $bn)))
    (if (local.get $eq)
      (then
        (block $diff
          (loop $byte
            (br_if $diff (i32.ge_u (local.get $i) (local.get $an)))
            (if (i32.ne (i32.load8_u (i32.add (local.get $a) (local.get $i)))
                        (i32.load8_u (i32.add (local.get $b) (local.get $i))))
              (then (local.set $eq (i32.const 0)) (br $diff)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $byte)))))
    (call $push_i32 (local.get $eq)))
  (func $op_repeat (type $op)
    (local $n i32) (local $a i32) (local $an i32) (local $total i64) (local $p i32) (local $i i32)
    (local.set $n (call $pop_i32))
    (local.set $a (call $pop_blob)) (local.set $an (global.get $blen))
    (local.set $total (i64.mul (i64.extend_i32_u (local.get $an)) (i64.extend_i32_u (local.get $n))))
    (if (i64.gt_u (local.get $total) (i64.const 0xffff_ffff)) (then (call $fail_oom)))
    (local.set $p (call $alloc (local.get $total)))
    (block $done
      (loop $again
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (memory.copy (i32.add (local.get $p) (i32.mul (local.get $i) (local.get $an))) (local.get $a) (local.get $an))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $again)))
    (call $push_blob (local.get $p) (i32.wrap_i64 (local.get $total))))
  (func $op_i32_to_blob (type $op)
    (local $v i32) (local $p i32)
    (local.set $v (call $pop_i32))
    (local.set $p (call $alloc32 (i32.const 4)))
    (i32.store (local.get $p) (local.get $v))
    (call $push_blob (local.get $p) (i32.const 4)))
  (func $op_i64_to_blob (type $op)
    (local $v i64) (local $p i32)
    (local.set $v (call $pop_i64))
    (local.set $p (call $alloc32 (i32.const 8)))
    (i64.store (local.get $p) (local.get $v))
    (call $push_blob (local.get $p) (i32.const 8)))
  ;; The little-endian value of the blob's bytes (at most 8).
  (func $le_value (param $a i32) (param $n i32) (result i64)
    (local $v i64)
    (block $done
      (loop $byte
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (local.set $v (i64.or (i64.shl (local.get $v) (i64.const 8))
                              (i64.load8_u (i32.add (local.get $a) (local.get $n)))))
        (br $byte)))
    (local.get $v))
  (func $op_blob_to_i32 (type $op)
    (local $a i32)
    (local.set $a (call $pop_blob))
    (if (i32.gt_u (global.get $blen) (i32.const 4)) (then (call $fail (i32.const 0x220) (i32.const 24))))
    (call $push_i32 (i32.wrap_i64 (call $le_value (local.get $a) (global.get $blen)))))
  (func $op_blob_to_i64 (type $op)
    (local $a i32)
    (local.set $a (call $pop_blob))
    (if (i32.gt_u (global.get $blen) (i32.const 8)) (then (call $fail (i32.const 0x240) (i32.const 24))))
    (call $push_i64 (call $le_value (local.get $a) (global.get $blen))))

  (func $op_i32_add (type $op) (local $b i32) (local.set $b (call $pop_i32)) (call $push_i32 (i32.add (call $pop_i32) (local.get $b))))
  (func $op_i32_sub (type $op) (local $b i32) (local.set $b (call $pop_i32)) (call $push_i32 (i32.sub (call $pop_i32) (local.get $b))))
  (func $op_i32_mul (type $op) (local $b i32) (local.set $b (call $pop_i32)) (call $push_i32 (i32.mul (call $pop_i32) (local.get $b))))
  (func $op_i32_div_u (type $op) (local $b i32) (local.set $b (call $pop_i32)) (call $push_i32 (i32.div_u (call $pop_i32) (local.get $b))))
  (func $op_i32_rem_u (type $op) (local $b i32) (local.set $b (call $pop_i32)) (call $push_i32 (i32.rem_u (call $pop_i32) (local.get $b))))
  (func $op_i32_and (type $op) (local $b i32) (local.set $b (call $pop_i32)) (call $push_i32 (i32.and (call $pop_i32) (local.get $b))))
  (func $op_i32_or (type $op) (local $b i32) (local.set $b (call $pop_i32)) (call $push_i32 (i32.or (call $pop_i32) (local.get $b))))
  (func $op_i32_eq (type $op) (local $b i32) (local.set $b (call $pop_i32)) (call $push_i32 (i32.eq (call $pop_i32) (local.get $b))))
  (func $op_i32_lt_u (type $op) (local $b i32) (local.set $b (call $pop_i32)) (call $push_i32 (i32.lt_u (call $pop_i32) (local.get $b))))
  (func $op_i32_eqz (type $op) (call $push_i32 (i32.eqz (call $pop_i32))))
  (func $op_i64_add (type $op) (local $b i64) (local.set $b (call $pop_i64)) (call $push_i64 (i64.add (call $pop_i64) (local.get $b))))
  (func $op_i64_sub (type $op) (local $b i64) (local.set $b (call $pop_i64)) (call $push_i64 (i64.sub (call $pop_i64) (local.get $b))))
  (func $op_i64_mul (type $op) (local $b i64) (local.set $b (call $pop_i64)) (call $push_i64 (i64.mul (call $pop_i64) (local.get $b))))
  (func $op_i64_div_u (type $op) (local $b i64) (local.set $b (call $pop_i64)) (call $push_i64 (i64.div_u (call $pop_i64) (local.get $b))))
  (func $op_i64_eq (type $op) (local $b i64) (local.set $b (call $pop_i64)) (call $push_i32 (i64.eq (call $pop_i64) (local.get $b))))
  (func $op_i64_lt_u (type $op) (local $b i64) (local.set $b (call $pop_i64)) (call $push_i32 (i64.lt_u (call $pop_i64) (local.get $b))))
  (func $op_i32_to_i64 (type $op) (call $push_i64 (i64.extend_i32_u (call $pop_i32))))
  (func $op_i64_to_i32 (type $op) (call $push_i32 (i32.wrap_i64 (call $pop_i64))))
  (func $op_i64_to_decimal (type $op)
    (local $n i32)
    (local.set $n (call $utoa (call $pop_i64)))
    (call $push_blob (call $copy (i32.const 0x0be0) (local.get $n)) (local.get $n)))

  ;; ------------------------------------------------------------------------------------------
  ;; Ops: control

  (func $op_eval (type $op)
    (local $a i32)
    (local.set $a (call $pop_blob))
    (call $eval (local.get $a) (global.get $blen)))
  (func $op_if (type $op)
    (local $e i32) (local $en i32) (local $t i32) (local $tn i32)
    (local.set $e (call $pop_blob)) (local.set $en (global.get $blen))
    (local.set $t (call $pop_blob)) (local.set $tn (global.get $blen))
    (if (call $pop_i32)
      (then (call $eval (local.get $t) (local.get $tn)))
      (else (call $eval (local.get $e) (local.get $en)))))
  (func $op_loop (type $op)
    (local $n i32) (local $a i32) (local $an i32)
    (local.set $n (call $pop_i32))
    (local.set $a (call $pop_blob)) (local.set $an (global.get $blen))
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $n)))
        (call $eval (local.get $a) (local.get $an))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $again))))
  (func $op_spin (type $op) (loop $forever (br $forever)))
  (func $op_unreachable (type $op) unreachable)
  (func $op_memory_size (type $op) (call $push_i32 (memory.size)))
  (func $op_memory_grow (type $op) (call $push_i32 (memory.grow (call $pop_i32))))

  ;; ------------------------------------------------------------------------------------------
  ;; Ops: persistent storage

  (func $op_set_global (type $op)
    (local $a i32)
    (local.set $a (call $pop_blob))
    (call $slot_set_reuse (i32.const 0x10) (local.get $a) (global.get $blen)))
  (func $op_get_global (type $op)
    (call $push_blob (call $copy (i32.load (i32.const 0x10)) (i32.load (i32.const 0x14))) (i32.load (i32.const 0x14))))
  (func $op_append_global (type $op)
    (local $a i32) (local $an i32) (local $old i32) (local $p i32)
    (local.set $a (call $pop_blob)) (local.set $an (global.get $blen))
    (local.set $old (i32.load (i32.const 0x14)))
    (local.set $p (call $alloc (i64.add (i64.extend_i32_u (local.get $old)) (i64.extend_i32_u (local.get $an)))))
    (memory.copy (local.get $p) (i32.load (i32.const 0x10)) (local.get $old))
    (memory.copy (i32.add (local.get $p) (local.get $old)) (local.get $a) (local.get $an))
    (call $slot_set_reuse (i32.const 0x10) (local.get $p) (i32.add (local.get $old) (local.get $an))))
  (func $op_set_stable_global (type $op)
    (local $a i32) (local $n i32) (local $pages i64) (local $have i64) (local $p i32)
    (local.set $a (call $pop_blob)) (local.set $n (global.get $blen))
    (local.set $pages (i64.shr_u (i64.add (i64.extend_i32_u (local.get $n)) (i64.const 0x1_0003)) (i64.const 16)))
    (local.set $have (call $ic0.stable64_size))
    (if (i64.gt_u (local.get $pages) (local.get $have))
      (then
        (if (i64.eq (call $ic0.stable64_grow (i64.sub (local.get $pages) (local.get $have))) (i64.const -1))
          (then (call $fail (i32.const 0x260) (i32.const 18))))))
    (local.set $p (call $alloc32 (i32.const 4)))
    (i32.store (local.get $p) (local.get $n))
    (call $ic0.stable64_write (i64.const 0) (i64.extend_i32_u (local.get $p)) (i64.const 4))
    (call $ic0.stable64_write (i64.const 4) (i64.extend_i32_u (local.get $a)) (i64.extend_i32_u (local.get $n))))
  (func $op_get_stable_global (type $op)
    (local $p i32) (local $n i32)
    (if (i64.eqz (call $ic0.stable64_size))
      (then (call $push_blob (i32.const 0) (i32.const 0)) (return)))
    (local.set $p (call $alloc32 (i32.const 4)))
    (call $ic0.stable64_read (i64.extend_i32_u (local.get $p)) (i64.const 0) (i64.const 4))
    (local.set $n (i32.load (local.get $p)))
    (local.set $p (call $alloc32 (local.get $n)))
    (call $ic0.stable64_read (i64.extend_i32_u (local.get $p)) (i64.const 4) (i64.extend_i32_u (local.get $n)))
    (call $push_blob (local.get $p) (local.get $n)))
  (func $set_program (param $slot i32)
    (local $a i32)
    (local.set $a (call $pop_blob))
    (call $slot_set_fresh (local.get $slot) (local.get $a) (global.get $blen)))
  (func $op_set_pre_upgrade (type $op) (call $set_program (i32.const 0x20)))
  (func $op_set_heartbeat (type $op) (call $set_program (i32.const 0x30)))
  (func $op_set_global_timer (type $op) (call $set_program (i32.const 0x40)))
  (func $op_set_inspect_message (type $op) (call $set_program (i32.const 0x50)))

  ;; ------------------------------------------------------------------------------------------
  ;; Ops: the System API

  (func $op_msg_arg_data_size (type $op) (call $push_i32 (call $ic0.msg_arg_data_size)))
  (func $op_msg_arg_data_copy (type $op)
    (local $size i32) (local $off i32) (local $p i32)
    (local.set $size (call $pop_i32)) (local.set $off (call $pop_i32))
    (local.set $p (call $alloc32 (local.get $size)))
    (call $ic0.msg_arg_data_copy (local.get $p) (local.get $off) (local.get $size))
    (call $push_blob (local.get $p) (local.get $size)))
  (func $op_msg_caller_size (type $op) (call $push_i32 (call $ic0.msg_caller_size)))
  (func $op_msg_caller_copy (type $op)
    (local $size i32) (local $off i32) (local $p i32)
    (local.set $size (call $pop_i32)) (local.set $off (call $pop_i32))
    (local.set $p (call $alloc32 (local.get $size)))
    (call $ic0.msg_caller_copy (local.get $p) (local.get $off) (local.get $size))
    (call $push_blob (local.get $p) (local.get $size)))
  (func $op_msg_reject_code (type $op) (call $push_i32 (call $ic0.msg_reject_code)))
  (func $op_msg_reject_msg_size (type $op) (call $push_i32 (call $ic0.msg_reject_msg_size)))
  (func $op_msg_reject_msg_copy (type $op)
    (local $size i32) (local $off i32) (local $p i32)
    (local.set $size (call $pop_i32)) (local.set $off (call $pop_i32))
    (local.set $p (call $alloc32 (local.get $size)))
    (call $ic0.msg_reject_msg_copy (local.get $p) (local.get $off) (local.get $size))
    (call $push_blob (local.get $p) (local.get $size)))
  (func $op_msg_reply_data_append (type $op)
    (local $a i32)
    (local.set $a (call $pop_blob))
    (call $ic0.msg_reply_data_append (local.get $a) (global.get $blen)))
  (func $op_msg_reply (type $op) (call $ic0.msg_reply))
  (func $op_msg_reject (type $op)
    (local $a i32)
    (local.set $a (call $pop_blob))
    (call $ic0.msg_reject (local.get $a) (global.get $blen)))
  (func $op_msg_cycles_available (type $op) (call $push_i64 (call $ic0.msg_cycles_available)))
  (func $op_msg_cycles_available128 (type $op) (call $ic0.msg_cycles_available128 (call $push_new16)))
  (func $op_msg_cycles_refunded (type $op) (call $push_i64 (call $ic0.msg_cycles_refunded)))
  (func $op_msg_cycles_refunded128 (type $op) (call $ic0.msg_cycles_refunded128 (call $push_new16)))
  (func $op_msg_cycles_accept (type $op) (call $push_i64 (call $ic0.msg_cycles_accept (call $pop_i64))))
  (func $op_msg_cycles_accept128 (type $op)
    (local $lo i64) (local $hi i64)
    (local.set $lo (call $pop_i64)) (local.set $hi (call $pop_i64))
    (call $ic0.msg_cycles_accept128 (local.get $hi) (local.get $lo) (call $push_new16)))
  (func $op_cycles_burn128 (type $op)
    (local $lo i64) (local $hi i64)
    (local.set $lo (call $pop_i64)) (local.set $hi (call $pop_i64))
    (call $ic0.cycles_burn128 (local.get $hi) (local.get $lo) (call $push_new16)))
  (func $op_canister_self_size (type $op) (call $push_i32 (call $ic0.canister_self_size)))
  (func $op_canister_self_copy (type $op)
    (local $size i32) (local $off i32) (local $p i32)
    (local.set $size (call $pop_i32)) (local.set $off (call $pop_i32))
    (local.set $p (call $alloc32 (local.get $size)))
    (call $ic0.canister_self_copy (local.get $p) (local.get $off) (local.get $size))
    (call $push_blob (local.get $p) (local.get $size)))
  (func $op_canister_cycle_balance (type $op) (call $push_i64 (call $ic0.canister_cycle_balance)))
  (func $op_canister_cycle_balance128 (type $op) (call $ic0.canister_cycle_balance128 (call $push_new16)))
  (func $op_canister_status (type $op) (call $push_i32 (call $ic0.canister_status)))
  (func $op_canister_version (type $op) (call $push_i64 (call $ic0.canister_version)))
  (func $op_msg_method_name_size (type $op) (call $push_i32 (call $ic0.msg_method_name_size)))
  (func $op_msg_method_name_copy (type $op)
    (local $size i32) (local $off i32) (local $p i32)
    (local.set $size (call $pop_i32)) (local.set $off (call $pop_i32))
    (local.set $p (call $alloc32 (local.get $size)))
    (call $ic0.msg_method_name_copy (local.get $p) (local.get $off) (local.get $size))
    (call $push_blob (local.get $p) (local.get $size)))
  (func $op_accept_message (type $op) (call $ic0.accept_message))
  (func $op_call_new (type $op)
    (local $rj i32) (local $rjn i32) (local $rp i32) (local $rpn i32)
    (local $m i32) (local $mn i32) (local $c i32) (local $cn i32) (local $rec i32)
    (local.set $rj (call $pop_blob)) (local.set $rjn (global.get $blen))
    (local.set $rp (call $pop_blob)) (local.set $rpn (global.get $blen))
    (local.set $m (call $pop_blob)) (local.set $mn (global.get $blen))
    (local.set $c (call $pop_blob)) (local.set $cn (global.get $blen))
    (local.set $rec (call $alloc_persist (i32.add (i32.const 24) (i32.add (local.get $rpn) (local.get $rjn)))))
    (memory.copy (i32.add (local.get $rec) (i32.const 24)) (local.get $rp) (local.get $rpn))
    (memory.copy (i32.add (local.get $rec) (i32.add (i32.const 24) (local.get $rpn))) (local.get $rj) (local.get $rjn))
    (i32.store (local.get $rec) (i32.add (local.get $rec) (i32.const 24)))
    (i32.store offset=4 (local.get $rec) (local.get $rpn))
    (i32.store offset=8 (local.get $rec) (i32.add (local.get $rec) (i32.add (i32.const 24) (local.get $rpn))))
    (i32.store offset=12 (local.get $rec) (local.get $rjn))
    (i64.store offset=16 (local.get $rec) (i64.const 0))
    (global.set $rec (local.get $rec))
    (call $ic0.call_new (local.get $c) (local.get $cn) (local.get $m) (local.get $mn)
      (i32.const 0) (local.get $rec) (i32.const 1) (local.get $rec)))
  (func $op_call_new_raw (type $op)
    (local $rjenv i32) (local $rjfun i32) (local $rpenv i32) (local $rpfun i32)
    (local $m i32) (local $mn i32) (local $c i32) (local $cn i32)
    (local.set $rjenv (call $pop_i32)) (local.set $rjfun (call $pop_i32))
    (local.set $rpenv (call $pop_i32)) (local.set $rpfun (call $pop_i32))
    (local.set $m (call $pop_blob)) (local.set $mn (global.get $blen))
    (local.set $c (call $pop_blob)) (local.set $cn (global.get $blen))
    (global.set $rec (i32.const 0))
    (call $ic0.call_new (local.get $c) (local.get $cn) (local.get $m) (local.get $mn)
      (local.get $rpfun) (local.get $rpenv) (local.get $rjfun) (local.get $rjenv)))
  (func $op_call_on_cleanup (type $op)
    (local $a i32) (local $n i32) (local $p i32)
    (local.set $a (call $pop_blob)) (local.set $n (global.get $blen))
    (if (i32.eqz (global.get $rec))
      (then
        (global.set $rec (call $alloc_persist (i32.const 24)))
        (memory.fill (global.get $rec) (i32.const 0) (i32.const 24))))
    (local.set $p (call $alloc_persist (local.get $n)))
    (memory.copy (local.get $p) (local.get $a) (local.get $n))
    (i32.store offset=16 (global.get $rec) (local.get $p))
    (i32.store offset=20 (global.get $rec) (local.get $n))
    (call $ic0.call_on_cleanup (i32.const 2) (global.get $rec)))
  (func $op_call_on_cleanup_raw (type $op)
    (local $env i32)
    (local.set $env (call $pop_i32))
    (call $ic0.call_on_cleanup (call $pop_i32) (local.get $env)))
  (func $op_call_data_append (type $op)
    (local $a i32)
    (local.set $a (call $pop_blob))
    (call $ic0.call_data_append (local.get $a) (global.get $blen)))
  (func $op_call_cycles_add (type $op) (call $ic0.call_cycles_add (call $pop_i64)))
  (func $op_call_cycles_add128 (type $op)
    (local $lo i64)
    (local.set $lo (call $pop_i64))
    (call $ic0.call_cycles_add128 (call $pop_i64) (local.get $lo)))
  (func $op_call_perform (type $op) (call $push_i32 (call $ic0.call_perform)))
  (func $op_call_with_best_effort_response (type $op) (call $ic0.call_with_best_effort_response (call $pop_i32)))
  (func $op_stable_size (type $op) (call $push_i32 (call $ic0.stable_size)))
  (func $op_stable_grow (type $op) (call $push_i32 (call $ic0.stable_grow (call $pop_i32))))
  (func $op_stable_write (type $op)
    (local $a i32) (local $n i32)
    (local.set $a (call $pop_blob)) (local.set $n (global.get $blen))
    (call $ic0.stable_write (call $pop_i32) (local.get $a) (local.get $n)))
  (func $op_stable_read (type $op)
    (local $size i32) (local $off i32) (local $p i32)
    (local.set $size (call $pop_i32)) (local.set $off (call $pop_i32))
    (local.set $p (call $alloc32 (local.get $size)))
    (call $ic0.stable_read (local.get $p) (local.get $off) (local.get $size))
    (call $push_blob (local.get $p) (local.get $size)))
  (func $op_stable64_size (type $op) (call $push_i64 (call $ic0.stable64_size)))
  (func $op_stable64_grow (type $op) (call $push_i64 (call $ic0.stable64_grow (call $pop_i64))))
  (func $op_stable64_write (type $op)
    (local $a i32) (local $n i32)
    (local.set $a (call $pop_blob)) (local.set $n (global.get $blen))
    (call $ic0.stable64_write (call $pop_i64) (i64.extend_i32_u (local.get $a)) (i64.extend_i32_u (local.get $n))))
  (func $op_stable64_read (type $op)
    (local $size i64) (local $off i64) (local $p i32)
    (local.set $size (call $pop_i64)) (local.set $off (call $pop_i64))
    (local.set $p (call $alloc (local.get $size)))
    (call $ic0.stable64_read (i64.extend_i32_u (local.get $p)) (local.get $off) (local.get $size))
    (call $push_blob (local.get $p) (i32.wrap_i64 (local.get $size))))
  (func $op_certified_data_set (type $op)
    (local $a i32)
    (local.set $a (call $pop_blob))
    (call $ic0.certified_data_set (local.get $a) (global.get $blen)))
  (func $op_data_certificate_present (type $op) (call $push_i32 (call $ic0.data_certificate_present)))
  (func $op_data_certificate_size (type $op) (call $push_i32 (call $ic0.data_certificate_size)))
  (func $op_data_certificate_copy (type $op)
    (local $size i32) (local $off i32) (local $p i32)
    (local.set $size (call $pop_i32)) (local.set $off (call $pop_i32))
    (local.set $p (call $alloc32 (local.get $size)))
    (call $ic0.data_certificate_copy (local.get $p) (local.get $off) (local.get $size))
    (call $push_blob (local.get $p) (local.get $size)))
  (func $op_time (type $op) (call $push_i64 (call $ic0.time)))
  (func $op_global_timer_set (type $op) (call $push_i64 (call $ic0.global_timer_set (call $pop_i64))))
  (func $op_performance_counter (type $op) (call $push_i64 (call $ic0.performance_counter (call $pop_i32))))
  (func $op_is_controller (type $op)
    (local $a i32)
    (local.set $a (call $pop_blob))
    (call $push_i32 (call $ic0.is_controller (local.get $a) (global.get $blen))))
  (func $op_in_replicated_execution (type $op) (call $push_i32 (call $ic0.in_replicated_execution)))
  (func $op_debug_print (type $op)
    (local $a i32)
    (local.set $a (call $pop_blob))
    (call $ic0.debug_print (local.get $a) (global.get $blen)))
  (func $op_trap (type $op)
    (local $a i32)
    (local.set $a (call $pop_blob))
    (call $ic0.trap (local.get $a) (global.get $blen))
    unreachable))
