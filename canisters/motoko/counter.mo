/// counter: the smallest stateful Motoko canister.
///   inc()  : ()           update, increments the counter
///   get()  : Nat          query, reads it
///   bump() : Nat          update, increments and returns the new value
persistent actor Counter {
  var n : Nat = 0;

  public func inc() : async () { n += 1 };

  public query func get() : async Nat { n };

  public func bump() : async Nat {
    n += 1;
    n
  };
};
