/// stable: what survives an upgrade. With enhanced orthogonal persistence every field of a
/// `persistent actor` is stable, except the `transient` ones, which are reinitialised.
///   add(k) : ()                 count += k; scratch += k
///   read() : (Nat, Nat, Nat, Nat) query: (count, scratch, version, upgrades)
/// `version` is the constant below: edit it (e.g. to 2) to build a new version of the module
/// for an upgrade; `upgrades` counts post-upgrade runs.
persistent actor Stable {
  var count : Nat = 0;
  transient var scratch : Nat = 0;
  transient let version : Nat = 1;
  var upgrades : Nat = 0;

  public func add(k : Nat) : async () {
    count += k;
    scratch += k;
  };

  public query func read() : async (Nat, Nat, Nat, Nat) { (count, scratch, version, upgrades) };

  system func postupgrade() { upgrades += 1 };
};
