;; loop: computation that runs out of instructions, for metering tests and benchmarks.
;;
;;   canister_update spin      loops forever (never replies; the instruction limit stops it)
;;   canister_update compute   arg: the iteration count n, unsigned little-endian, 0 to 8 bytes
;;                             (missing high bytes are 0); runs n iterations of
;;                             acc := acc * 31 + i and replies with acc (8 bytes, little-endian).
;;                             An iteration is 15 Wasm instructions (the 4 of the exit test and
;;                             the 11 of the body, `br` included), plus a fixed setup and reply.
;;   canister_query  compute_query   the same as a query
;;
;; Memory: one page; bytes 0..8 hold the argument, 8..16 the result.
(module
  (import "ic0" "msg_arg_data_size" (func $msg_arg_data_size (result i32)))
  (import "ic0" "msg_arg_data_copy" (func $msg_arg_data_copy (param i32 i32 i32)))
  (import "ic0" "msg_reply_data_append" (func $msg_reply_data_append (param i32 i32)))
  (import "ic0" "msg_reply" (func $msg_reply))
  (import "ic0" "trap" (func $trap (param i32 i32)))
  (memory 1)
  (data (i32.const 64) "loop: compute takes at most 8 bytes")

  (func (export "canister_update spin")
    (loop $forever (br $forever)))

  (func $compute
    (local $n i64) (local $i i64) (local $acc i64) (local $size i32)
    (local.set $size (call $msg_arg_data_size))
    (if (i32.gt_u (local.get $size) (i32.const 8))
      (then (call $trap (i32.const 64) (i32.const 35))))
    (i64.store (i32.const 0) (i64.const 0))
    (call $msg_arg_data_copy (i32.const 0) (i32.const 0) (local.get $size))
    (local.set $n (i64.load (i32.const 0)))
    block $done
      loop $l
        local.get $i
        local.get $n
        i64.ge_u
        br_if $done
        local.get $acc
        i64.const 31
        i64.mul
        local.get $i
        i64.add
        local.set $acc
        local.get $i
        i64.const 1
        i64.add
        local.set $i
        br $l
      end
    end
    (i64.store (i32.const 8) (local.get $acc))
    (call $msg_reply_data_append (i32.const 8) (i32.const 8))
    (call $msg_reply))

  (func (export "canister_update compute") (call $compute))
  (func (export "canister_query compute_query") (call $compute)))
