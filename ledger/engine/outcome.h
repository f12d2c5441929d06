#pragma once
// What the sequencer answers for one command (Outcome, with its Receipt) and the journal head:
// the engine's results, which the public Ledger (ledger/ledger.h) hands on as they are.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ledger/format/amount.h"
#include "ledger/format/journal_format.h"
#include "ledger/format/reason.h"
#include "lovebank/v1/journal.pb.h"

namespace lovebank {

// The balance of one account in one asset.
struct BalanceLine {
  std::string account;
  std::string asset;
  Amount balance;
  std::string decimal;    // the balance formatted at the asset's scale, e.g. "12.50"
  std::uint64_t seq = 0;  // the entry that last changed it (0: never)
};

struct Receipt {
  std::uint64_t seq = 0;
  Hash hash{};
  std::int64_t time_unix_us = 0;
  // Balances right after the entry, for every account and asset it moved (empty for
  // administrative entries).
  std::vector<BalanceLine> balances_after;
  // Checkout and refund: the lines, prices and (HOURS) ratio recorded; null for the rest (a
  // pointer: a proto member in every transfer's outcome cost ~20% of commit throughput).
  std::shared_ptr<const v1::Pricing> pricing;
  // AuthorizeHold: when the hold expires (µs since the Unix epoch); 0 for the rest.
  std::int64_t hold_expires_unix_us = 0;
  // An Earn of HOURS past the storage cap: the hours that went to the donation pool.
  Int128 to_pool_minor = 0;
  // An Award or Earn waiting for a second approver: when it lapses (0: not pending).
  std::int64_t pending_expires_unix_us = 0;
  // An Award, or the Approve of a pending award: the rule's amount (0 otherwise).
  Int128 award_minor = 0;
  std::string award_decimal;  // the same at its asset's scale, e.g. "500.00"
};

// What happened to one submitted command.
struct Outcome {
  Reason reason = Reason::kOk;
  std::string message;  // for people and logs; English
  Receipt receipt;      // when ok()
  // True when this answers a retry: the request id was seen before with the same content, and
  // this is the original receipt (or the original, remembered refusal). Nothing was applied.
  bool replayed = false;
  // The journal position of the decision: the entry's seq when accepted; for a refusal by the
  // sequencer, the head seq it was judged against (the state right after that entry). 0 for
  // refusals before the queue.
  std::uint64_t decided_at_seq = 0;
  bool ok() const { return reason == Reason::kOk; }
};

// An Outcome that is not ok: `reason` with its message.
inline Outcome Refusal(Reason reason, std::string message) {
  Outcome outcome;
  outcome.reason = reason;
  outcome.message = std::move(message);
  return outcome;
}

// The store could not be read: the command is neither applied nor refused.
inline Outcome Unavailable(std::string message) {
  return Refusal(Reason::kLedgerUnavailable, std::move(message));
}

struct Head {
  std::uint64_t seq = 0;
  Hash hash{};  // the genesis hash when seq == 0
};

}  // namespace lovebank
