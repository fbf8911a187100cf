;; minimal: the smallest stateful canister, hand-written.
;;
;;   canister_update inc   increments the little-endian i32 at memory address 0, replies empty
;;   canister_query  get   replies with those 4 bytes (raw little-endian, not Candid)
;;
;; Memory: one 64 KiB page; nothing else.
(module
  (import "ic0" "msg_reply" (func $msg_reply))
  (import "ic0" "msg_reply_data_append" (func $msg_reply_data_append (param i32 i32)))
  (memory 1)
  (func (export "canister_update inc")
    (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
    (call $msg_reply))
  (func (export "canister_query get")
    (call $msg_reply_data_append (i32.const 0) (i32.const 4))
    (call $msg_reply)))
