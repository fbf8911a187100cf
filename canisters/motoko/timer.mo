/// timer: a recurring timer (mo:core/Timer, on the canister's global timer) increments a counter.
///   start(s) : Nat   starts a recurring timer every s seconds, returns its id
///   once(s) : Nat    a one-shot timer after s seconds, returns its id
///   stop(id) : ()    cancels a timer
///   ticks() : Nat    query, how many timer jobs ran
import Timer "mo:core/Timer";

persistent actor Ticker {
  var ticks_ : Nat = 0;

  func tick() : async () { ticks_ += 1 };

  public func start(s : Nat) : async Nat { Timer.recurringTimer<system>(#seconds s, tick) };

  public func once(s : Nat) : async Nat { Timer.setTimer<system>(#seconds s, tick) };

  public func stop(id : Nat) : async () { Timer.cancelTimer(id) };

  public query func ticks() : async Nat { ticks_ };
};
