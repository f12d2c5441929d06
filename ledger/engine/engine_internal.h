#pragma once
// Internal to the engine's files: small helpers shared by the state (state.cc), the movements
// (moves.cc) and the reads of committed entries (engine.cc).

#include <algorithm>
#include <cstring>
#include <map>
#include <span>

#include "absl/container/inlined_vector.h"
#include "ledger/base/check.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/base/text.h"
#include "ledger/engine/engine.h"
#include "ledger/rules/accounts.h"

namespace lovebank {

using rules::KindName;

inline absl::StatusOr<AssetState> DecodeAsset(std::string_view value) {
  AssetState asset;
  if (!asset.record.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return absl::DataLossError("asset record does not decode");
  }
  auto maximum = MinorFromString(asset.record.maximum_minor());
  if (!maximum || asset.record.scale() > kScaleMax) {
    return absl::DataLossError(Cat("asset record ", asset.record.code(), " is invalid"));
  }
  asset.scale = asset.record.scale();
  asset.maximum_minor = *maximum;
  return asset;
}

// An Earn of HOURS past the storage cap: what its entry credited to the donation pool.
inline Int128 ToPool(const v1::Command& command, std::span<const PostingText> postings) {
  if (!command.has_earn() || command.earn().asset() != kHoursAsset) return 0;
  for (const PostingText& posting : postings) {
    if (posting.account != command.earn().to() && !posting.amount_minor.starts_with('-')) {
      return *MinorFromString(posting.amount_minor);
    }
  }
  return 0;
}

// An Award or an Earn that moved nothing waits for approval; an award's amount is its facts'.
inline void FillPendingAndAward(const v1::Command& command, std::size_t postings,
                                std::int64_t time_unix_us, const v1::AwardFacts* award,
                                std::uint32_t award_scale, Receipt* receipt) {
  if ((command.has_award() || command.has_earn()) && postings == 0) {
    receipt->pending_expires_unix_us = time_unix_us + kPendingLifetimeMicros;
  }
  if (award != nullptr) {
    receipt->award_minor = *MinorFromString(award->amount_minor());
    receipt->award_decimal = FormatAmount(Amount::FromMinor(receipt->award_minor), award_scale);
  }
}

inline std::vector<PostingText> PostingTexts(const v1::Entry& entry) {
  std::vector<PostingText> postings;
  postings.reserve(entry.postings_size());
  for (const auto& posting : entry.postings()) {
    postings.push_back({posting.account(), posting.asset(), posting.amount_minor()});
  }
  return postings;
}

}  // namespace lovebank
