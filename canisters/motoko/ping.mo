/// ping: one half of a pair of actors whose interleaving at `await` is observable.
///   run(pong) : (Nat, Nat)   n += 1; pong.ping(self) (which calls back peek()); n += 1.
///                            Returns (what pong saw via peek, n at the end).
///   peek()    : Nat          query, reads n (pong calls it while run is suspended at its await)
///   get()     : Nat          query, reads n
/// The callee is passed as an argument (a principal), so the test decides which canister pong is.
import Principal "mo:core/Principal";

persistent actor Ping {
  type Pong = actor { ping : (Principal) -> async Nat };

  var n : Nat = 0;

  public shared func run(pong : Principal) : async (Nat, Nat) {
    n += 1;
    let b : Pong = actor (Principal.toText(pong));
    let seen = await b.ping(Principal.fromActor(Ping));
    n += 1;
    (seen, n)
  };

  public query func peek() : async Nat { n };

  public query func get() : async Nat { n };
};
