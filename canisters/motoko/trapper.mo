/// trapper: state changes that a trap rolls back, and debug prints.
///   setThenTrap(v) : ()   sets x := v, then traps ("trapper: deliberate trap"): x is unchanged
///   setThenAssert(v) : () sets x := v, then `assert false`
///   set(v) : ()           sets x := v
///   get() : Nat           query, reads x
///   print(t) : ()         Debug.print(t) (a drun `debug.print:` line / a canister log entry)
import Debug "mo:core/Debug";
import Runtime "mo:core/Runtime";

persistent actor Trapper {
  var x : Nat = 0;

  public func setThenTrap(v : Nat) : async () {
    x := v;
    Runtime.trap("trapper: deliberate trap");
  };

  public func setThenAssert(v : Nat) : async () {
    x := v;
    assert false;
  };

  public func set(v : Nat) : async () { x := v };

  public query func get() : async Nat { x };

  public func print(t : Text) : async () { Debug.print(t) };
};
