/// ledger_client: calls the ICP ledger (ryjl3-tyaaa-aaaaa-aaaba-cai) over ICRC-1 and returns
/// the ledger's answer unchanged.
///   transfer(arg) : variant { Ok : nat; Err : TransferError }   icrc1_transfer from this canister
///   balance(acct) : nat                                         icrc1_balance_of
///   self() : principal                                          query, this canister's id
import Principal "mo:core/Principal";

persistent actor LedgerClient {
  public type Account = { owner : Principal; subaccount : ?Blob };
  public type TransferArg = {
    from_subaccount : ?Blob;
    to : Account;
    amount : Nat;
    fee : ?Nat;
    memo : ?Blob;
    created_at_time : ?Nat64;
  };
  public type TransferError = {
    #BadFee : { expected_fee : Nat };
    #BadBurn : { min_burn_amount : Nat };
    #InsufficientFunds : { balance : Nat };
    #TooOld;
    #CreatedInFuture : { ledger_time : Nat64 };
    #Duplicate : { duplicate_of : Nat };
    #TemporarilyUnavailable;
    #GenericError : { error_code : Nat; message : Text };
  };
  public type TransferResult = { #Ok : Nat; #Err : TransferError };

  transient let ledger : actor {
    icrc1_transfer : shared TransferArg -> async TransferResult;
    icrc1_balance_of : shared query Account -> async Nat;
  } = actor "ryjl3-tyaaa-aaaaa-aaaba-cai";

  public func transfer(arg : TransferArg) : async TransferResult { await ledger.icrc1_transfer(arg) };

  public func balance(acct : Account) : async Nat { await ledger.icrc1_balance_of(acct) };

  public query func self() : async Principal { Principal.fromActor(LedgerClient) };
};
