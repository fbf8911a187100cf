;; bigmem: a canister whose Wasm memory can be made large, to compare the cost of a message
;; that touches one byte of a 1 GiB memory with the same message on a 1-page memory.
;;
;;   canister_update grow    arg: a page count p (4 bytes, little-endian u32); memory.grow p;
;;                           replies with the old size in pages (4 bytes LE), or 0xFFFFFFFF if
;;                           the memory could not grow. 1 GiB = 16384 pages.
;;   canister_update touch   arg: empty (address 0) or an address a (4 bytes LE); increments the
;;                           byte at a and replies empty
;;   canister_query  size    replies with the memory size in pages (4 bytes LE)
;;   canister_query  peek    arg: empty or an address; replies with the byte there (1 byte)
;;
;; Memory: starts at one page, no declared maximum (the platform's limit applies).
;; Scratch: bytes 16..24 (argument and reply); the default touched byte is address 0.
(module
  (import "ic0" "msg_arg_data_size" (func $msg_arg_data_size (result i32)))
  (import "ic0" "msg_arg_data_copy" (func $msg_arg_data_copy (param i32 i32 i32)))
  (import "ic0" "msg_reply_data_append" (func $msg_reply_data_append (param i32 i32)))
  (import "ic0" "msg_reply" (func $msg_reply))
  (import "ic0" "trap" (func $trap (param i32 i32)))
  (memory 1)
  (data (i32.const 64) "bigmem: the argument must be 4 bytes")

  ;; The argument as a u32: 0 if empty, the 4 bytes if 4, a trap otherwise.
  (func $arg_u32 (result i32)
    (local $size i32)
    (local.set $size (call $msg_arg_data_size))
    (if (i32.eqz (local.get $size)) (then (return (i32.const 0))))
    (if (i32.ne (local.get $size) (i32.const 4))
      (then (call $trap (i32.const 64) (i32.const 36))))
    (call $msg_arg_data_copy (i32.const 16) (i32.const 0) (i32.const 4))
    (i32.load (i32.const 16)))

  (func $reply_u32 (param $v i32)
    (i32.store (i32.const 16) (local.get $v))
    (call $msg_reply_data_append (i32.const 16) (i32.const 4))
    (call $msg_reply))

  (func (export "canister_update grow")
    (call $reply_u32 (memory.grow (call $arg_u32))))

  (func (export "canister_update touch")
    (local $a i32)
    (local.set $a (call $arg_u32))
    (i32.store8 (local.get $a) (i32.add (i32.load8_u (local.get $a)) (i32.const 1)))
    (call $msg_reply))

  (func (export "canister_query size")
    (call $reply_u32 (memory.size)))

  (func (export "canister_query peek")
    (i32.store8 (i32.const 20) (i32.load8_u (call $arg_u32)))
    (call $msg_reply_data_append (i32.const 20) (i32.const 1))
    (call $msg_reply)))
