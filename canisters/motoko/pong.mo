/// pong: the other half of ping.mo.
///   ping(a) : Nat   calls a.peek() back (an inter-canister call made while a is suspended
///                   in its own await) and returns what it saw; counts its calls.
///   calls() : Nat   query, how many pings arrived
import Principal "mo:core/Principal";

persistent actor Pong {
  type Peek = actor { peek : shared query () -> async Nat };

  var pings : Nat = 0;

  public shared func ping(a : Principal) : async Nat {
    pings += 1;
    let back : Peek = actor (Principal.toText(a));
    await back.peek()
  };

  public query func calls() : async Nat { pings };
};
