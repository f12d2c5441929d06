#include "service/watch.h"

#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "ledger/format/journal_format.h"
#include "lovebank/v1/journal.pb.h"

namespace lovebank::service {

WatchHub::WatchHub(Ledger* ledger, std::size_t watchers_max)
    : ledger_(ledger), watchers_max_(watchers_max) {
  thread_ = std::thread(&WatchHub::Loop, this);
}

WatchHub::~WatchHub() { Stop(); }

WatchHub::Admission WatchHub::Add(std::shared_ptr<Watch> watch, const std::string& principal,
                                  const std::string& account) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return Admission::kStopping;
  if (watches_.size() >= watchers_max_) return Admission::kFull;
  std::size_t& mine = per_principal_[principal];
  if (mine >= kWatchesPerPrincipalMax) return Admission::kPrincipalFull;
  ++mine;
  if (!account.empty()) ++account_watches_;
  const Watch* key = watch.get();
  watches_.emplace(key, Entry{std::move(watch), principal, account});
  return Admission::kOk;
}

void WatchHub::Remove(const Watch* watch) {
  absl::MutexLock lock(&mu_);
  auto it = watches_.find(watch);
  if (it == watches_.end()) return;
  if (!it->second.account.empty()) --account_watches_;
  auto mine = per_principal_.find(it->second.principal);
  if (--mine->second == 0) per_principal_.erase(mine);
  watches_.erase(it);
}

void WatchHub::CloseFor(const std::string& principal) {
  std::vector<std::shared_ptr<Watch>> mine;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [key, entry] : watches_) {
      if (entry.principal == principal) mine.push_back(entry.watch);
    }
  }
  for (const auto& watch : mine) watch->Close(CloseReason::kRevoked);  // outside mu_
}

std::size_t WatchHub::size() const {
  absl::MutexLock lock(&mu_);
  return watches_.size();
}

void WatchHub::Stop(absl::Duration grace) {
  std::vector<std::shared_ptr<Watch>> all;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    for (const auto& [key, entry] : watches_) all.push_back(entry.watch);
  }
  cancel_.store(true);
  ledger_->WakeHeadWaiters();
  if (thread_.joinable()) thread_.join();
  for (const auto& watch : all) watch->Close(CloseReason::kStopping);  // outside mu_: may Remove
  all.clear();
  absl::MutexLock lock(&mu_);
  const auto drained = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return watches_.empty(); };
  mu_.AwaitWithTimeout(absl::Condition(&drained), grace);
}

void WatchHub::Loop() {
  std::uint64_t seen = ledger_->GetHead().seq;
  auto last_tick = std::chrono::steady_clock::now();
  for (;;) {
    bool account_watches = false;
    bool was_idle = false;
    {
      // With no watch the hub waits for one, not for every commit (a wake-up per commit that
      // found nobody to tell cost the writer's hand-offs CPU: issue #29).
      absl::MutexLock lock(&mu_);
      const auto busy = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !watches_.empty();
      };
      if (!busy()) {
        mu_.Await(absl::Condition(&busy));
        was_idle = true;
      }
      if (stopping_) return;
    }
    // Back from idle: every watch is woken once (a new one may have read its backlog before an
    // entry this hub did not wait for).
    const Head head =
        was_idle ? ledger_->GetHead()
                 : ledger_->WaitForHead(seen, absl::Milliseconds(kWatchTickMillis), &cancel_);
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      account_watches = account_watches_ > 0;
    }
    // Which accounts the new entries moved (only when someone follows an account).
    absl::flat_hash_set<std::string> moved;
    bool wake_all = was_idle;
    const bool news = head.seq > seen || was_idle;
    if (news && account_watches && !was_idle) {
      auto records = ledger_->ReadJournal(seen + 1, head.seq, kWatchScanMax, 16 << 20);
      wake_all = !records.ok() || seen + records->size() < head.seq;
      if (records.ok()) {
        v1::Entry entry;
        for (const JournalRecord& record : *records) {
          auto view = DecodeStoredEntry(record.value);
          if (!view ||
              !entry.ParseFromArray(view->payload.data(), static_cast<int>(view->payload.size()))) {
            wake_all = true;  // each watch reads for itself (and meets the error there)
            break;
          }
          // Administrative entries (an account opened or frozen, a pending award) write
          // statement lines without postings: rare, so every watch looks for itself.
          if (entry.postings().empty()) wake_all = true;
          for (const auto& posting : entry.postings()) moved.insert(posting.account());
        }
      }
    }
    seen = std::max(seen, head.seq);
    const auto now = std::chrono::steady_clock::now();
    const bool tick = now - last_tick >= std::chrono::milliseconds(kWatchTickMillis);
    if (!news && !tick) continue;
    std::vector<std::shared_ptr<Watch>> wake;
    std::vector<std::shared_ptr<Watch>> all;
    {
      absl::MutexLock lock(&mu_);
      for (const auto& [key, entry] : watches_) {
        if (news && (entry.account.empty() || wake_all || moved.contains(entry.account))) {
          wake.push_back(entry.watch);
        }
        if (tick) all.push_back(entry.watch);
      }
    }
    // Outside mu_: a watch may finish its stream from here, and its end removes it.
    for (const auto& watch : wake) watch->Wake();
    if (tick) {
      last_tick = now;
      for (const auto& watch : all) watch->Tick(now);
    }
  }
}

}  // namespace lovebank::service
