// Opening, recovering and writing the ledger: the sequencer and its group commit.

#include <openssl/rand.h>
#include <pthread.h>

#include <filesystem>
#include <future>
#include <utility>

#include "ledger/base/check.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/ledger_impl.h"
#include "rocksdb/perf_level.h"
#include "rocksdb/utilities/checkpoint.h"

namespace lovebank {
namespace {

std::int64_t SystemClockUnixUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The syntax check plus what only the engine may write: a ReleaseHold.
SyntaxCheck CheckSubmitted(const v1::Command& command) {
  if (command.has_release_hold()) {
    return SyntaxCheck{Reason::kHoldCommandInvalid,
                       "holds are released by the engine alone when they expire"};
  }
  if (command.has_expire_pending()) {
    return SyntaxCheck{Reason::kPendingCommandInvalid,
                       "pending awards lapse by the engine alone when they expire"};
  }
  if (command.has_expire_service()) {
    return SyntaxCheck{Reason::kServiceInvalid, "services lapse by the engine alone"};
  }
  return CheckCommandSyntax(command);
}

// An all-or-nothing group that was not applied: every command that was not itself refused
// (accepted, then rolled back, or never judged) becomes kBatchAborted naming the first refusal.
void AbortOthers(std::vector<Outcome>& outcomes) {
  std::size_t first = 0;
  while (first < outcomes.size() && outcomes[first].ok()) ++first;
  LOVEBANK_CHECK(first < outcomes.size());
  const std::string why = Cat("command ", first, " of the all-or-nothing batch was refused (",
                              ReasonName(outcomes[first].reason), "); nothing was applied");
  for (Outcome& outcome : outcomes) {
    if (outcome.ok()) outcome = Refusal(Reason::kBatchAborted, why);
  }
}

// The default assets every new ledger starts with (issue #2: HOURS and POINTS, scale 2).
std::vector<v1::Command> GenesisCommands() {
  std::vector<v1::Command> commands;
  const struct {
    const char* code;
    const char* name;
  } kAssets[] = {{"HOURS", "志愿服务时长"}, {"POINTS", "爱心积分"}};
  for (const auto& asset : kAssets) {
    v1::Command command;
    command.set_request_id(Cat("genesis:", asset.code));
    command.set_actor("lovebank");
    command.set_memo("default asset");
    auto* define = command.mutable_define_asset();
    define->set_code(asset.code);
    define->set_scale(2);
    define->set_maximum("999999999999999.99");
    define->set_display_name(asset.name);
    commands.push_back(std::move(command));
  }
  return commands;
}

// Reads one meta value that must be present with a fixed size.
absl::StatusOr<std::string> ReadMeta(Store& store, std::string_view key, std::size_t size) {
  LOVEBANK_ASSIGN_OR_RETURN(auto value, store.Get(Family::kMeta, key));
  if (!value.has_value() || value->size() != size) {
    return absl::DataLossError(Cat("meta ", key, " is missing or malformed"));
  }
  return *value;
}

// Writes the meta records of a new, empty ledger.
absl::Status InitializeMeta(Store& store) {
  std::string ledger_id(kLedgerIdBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(ledger_id.data()), kLedgerIdBytes) != 1) {
    return absl::InternalError("no randomness for the ledger id");
  }
  const Hash genesis = GenesisHash(ledger_id);
  rocksdb::WriteBatch batch;
  auto* meta = store.handle(Family::kMeta);
  std::string version;
  PutFixed32BE(&version, kStoreFormatVersion);
  batch.Put(meta, meta_key::kFormatVersion, version);
  batch.Put(meta, meta_key::kLedgerId, ledger_id);
  batch.Put(meta, meta_key::kHeadSeq, EncodeFixed64BE(0));
  batch.Put(meta, meta_key::kHeadHash,
            std::string_view(reinterpret_cast<const char*>(genesis.data()), genesis.size()));
  return store.WriteSynced(&batch);
}

// Re-verifies the last kOpenVerifyTailEntries entries: contiguous keys ending at the meta head,
// each hash recomputed from its payload and its predecessor, the last equal to the meta head.
// Returns the head entry's time. The full check is the audit's job (#3).
absl::StatusOr<std::int64_t> VerifyTail(Store& store, const Head& head, const Hash& genesis) {
  auto it = store.NewIterator(Family::kJournal);
  it->SeekToLast();
  LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), "reading the journal"));
  const std::uint64_t last =
      it->Valid() && it->key().size() == 8 ? GetFixed64BE(it->key().data()) : 0;
  if (it->Valid() && it->key().size() != 8) {
    return absl::DataLossError("journal holds a key that is not a sequence number");
  }
  if (last != head.seq) {
    return absl::DataLossError(
        Cat("journal ends at seq ", last, " but the meta head is ", head.seq));
  }
  if (head.seq == 0) {
    if (head.hash != genesis) return absl::DataLossError("meta head hash is not the genesis hash");
    return std::int64_t{0};
  }
  const std::uint64_t first =
      head.seq > kOpenVerifyTailEntries ? head.seq - kOpenVerifyTailEntries + 1 : 1;
  it->Seek(EncodeFixed64BE(first));
  std::optional<Hash> prev;
  if (first == 1) prev = genesis;
  std::int64_t time = 0;
  for (std::uint64_t seq = first; seq <= head.seq; ++seq, it->Next()) {
    if (!it->Valid() || it->key().size() != 8 || GetFixed64BE(it->key().data()) != seq) {
      LOVEBANK_RETURN_IF_ERROR(FromRocks(it->status(), "reading the journal"));
      return absl::DataLossError(Cat("journal entry ", seq, " is missing"));
    }
    auto view = DecodeStoredEntry(it->value().ToStringView());
    if (!view) return absl::DataLossError(Cat("journal entry ", seq, " is malformed"));
    if (prev.has_value() && view->prev_hash != *prev) {
      return absl::DataLossError(Cat("journal entry ", seq, " does not chain to ", seq - 1));
    }
    if (ChainHash(view->prev_hash, seq, view->payload) != view->hash) {
      return absl::DataLossError(Cat("journal entry ", seq, " fails its hash"));
    }
    if (seq == head.seq) {
      v1::Entry entry;
      if (!entry.ParseFromArray(view->payload.data(), static_cast<int>(view->payload.size())) ||
          entry.seq() != seq) {
        return absl::DataLossError(Cat("journal entry ", seq, " does not decode"));
      }
      time = entry.time_unix_us();
    }
    prev = view->hash;
  }
  if (*prev != head.hash) return absl::DataLossError("meta head hash differs from the journal");
  return time;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Ledger>> Ledger::Open(LedgerOptions options) {
  if (!options.clock_unix_us) options.clock_unix_us = SystemClockUnixUs;
  if (options.batch_size_max == 0 || options.queue_depth_max == 0) {
    return absl::InvalidArgumentError("batch_size_max and queue_depth_max must be positive");
  }
  auto impl = std::make_unique<Impl>();
  StoreOptions store_options;
  store_options.read_only = options.read_only;
  store_options.create_if_missing = options.create_if_missing;
  store_options.env = options.env;
  LOVEBANK_ASSIGN_OR_RETURN(impl->store, Store::Open(options.path, store_options));
  Store& store = *impl->store;

  LOVEBANK_ASSIGN_OR_RETURN(auto version, store.Get(Family::kMeta, meta_key::kFormatVersion));
  if (!version.has_value()) {
    auto it = store.NewIterator(Family::kJournal);
    it->SeekToFirst();
    if (it->Valid())
      return absl::DataLossError("journal entries exist but the meta records do not");
    if (options.read_only || !options.create_if_missing) {
      return absl::NotFoundError(Cat("no lovebank ledger at ", options.path));
    }
    LOVEBANK_RETURN_IF_ERROR(InitializeMeta(store));
  } else if (version->size() != 4 || GetFixed32BE(version->data()) != kStoreFormatVersion) {
    return absl::FailedPreconditionError(
        Cat("the ledger at ", options.path, " has store format version ",
            version->size() == 4 ? std::to_string(GetFixed32BE(version->data())) : "(undecodable)",
            "; this lovebank reads version ", kStoreFormatVersion,
            " (docs/journal-format.md, Compatibility)"));
  }
  LOVEBANK_ASSIGN_OR_RETURN(impl->ledger_id, ReadMeta(store, meta_key::kLedgerId, kLedgerIdBytes));
  LOVEBANK_ASSIGN_OR_RETURN(std::string head_seq, ReadMeta(store, meta_key::kHeadSeq, 8));
  LOVEBANK_ASSIGN_OR_RETURN(std::string head_hash, ReadMeta(store, meta_key::kHeadHash, 32));
  Head head{GetFixed64BE(head_seq.data()), *HashFromBytes(head_hash)};
  LOVEBANK_ASSIGN_OR_RETURN(std::int64_t head_time,
                            VerifyTail(store, head, GenesisHash(impl->ledger_id)));
  impl->set_head(head);

  if (!options.read_only) {
    LOVEBANK_ASSIGN_OR_RETURN(impl->engine,
                              Engine::Load(&store, head, head_time, options.clock_unix_us));
    impl->tree = std::make_unique<TreeBuilder>(&store, options.tree_gather_wait);
    LOVEBANK_RETURN_IF_ERROR(impl->tree->Load(head.seq));
  }
  impl->options = std::move(options);
  auto ledger = std::unique_ptr<Ledger>(new Ledger(std::move(impl)));
  if (!ledger->impl_->options.read_only) ledger->impl_->StartThreads();
  // An empty journal gets the default assets, also when a crash came between writing the meta
  // records and committing these entries (their request ids make the retry exactly-once).
  if (!ledger->impl_->options.read_only && head.seq == 0) {
    for (Outcome& outcome : ledger->ExecuteMany(GenesisCommands())) {
      if (!outcome.ok()) {
        return absl::UnavailableError(Cat("creating the default assets: ", outcome.message));
      }
    }
  }
  return ledger;
}

Ledger::Ledger(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Ledger::~Ledger() {
  if (impl_->engine) impl_->StopThreads();
}

void Ledger::Submit(v1::Command command, Callback done) {
  SyntaxCheck syntax = CheckSubmitted(command);
  if (syntax.reason != Reason::kOk) {
    impl_->CountRefusal(syntax.reason);
    done(Refusal(syntax.reason, std::move(syntax.message)));
    return;
  }
  std::vector<Impl::Pending> group(1);
  group[0].SetCommand(std::move(command));
  group[0].done = std::move(done);
  const Reason reason = impl_->Enqueue(&group);
  if (reason != Reason::kOk) {
    impl_->CountRefusal(reason);
    group[0].done(Refusal(reason, std::string(ReasonName(reason))));
  }
}

void Ledger::SubmitMany(std::vector<v1::Command> commands, BatchCallback done,
                        bool all_or_nothing) {
  if (commands.empty() || (all_or_nothing && commands.size() > impl_->options.batch_size_max)) {
    // A client's batch reaches here through the service: refused, never a crash.
    std::vector<Outcome> refused(commands.size());
    for (Outcome& outcome : refused) {
      impl_->CountRefusal(Reason::kBatchSizeInvalid);
      outcome.reason = Reason::kBatchSizeInvalid;
      outcome.message = Cat(commands.size(), " commands; an all-or-nothing group holds 1-",
                            impl_->options.batch_size_max);
    }
    done(std::move(refused));
    return;
  }
  struct Group {
    std::vector<Outcome> outcomes;
    std::atomic<std::size_t> remaining{0};
    BatchCallback done;
  };
  auto shared = std::make_shared<Group>();
  shared->outcomes.resize(commands.size());
  shared->done = std::move(done);
  std::vector<Impl::Pending> group;
  group.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    SyntaxCheck syntax = CheckSubmitted(commands[i]);
    if (syntax.reason != Reason::kOk) {
      impl_->CountRefusal(syntax.reason);
      shared->outcomes[i] = Refusal(syntax.reason, std::move(syntax.message));
      continue;
    }
    Impl::Pending pending;
    pending.SetCommand(std::move(commands[i]));
    pending.done = [shared, i](Outcome outcome) {
      shared->outcomes[i] = std::move(outcome);
      if (shared->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        shared->done(std::move(shared->outcomes));
      }
    };
    group.push_back(std::move(pending));
  }
  if (all_or_nothing && group.size() != commands.size()) {
    AbortOthers(shared->outcomes);
    shared->done(std::move(shared->outcomes));
    return;
  }
  if (group.empty()) {
    shared->done(std::move(shared->outcomes));
    return;
  }
  if (all_or_nothing) group.front().group_size = group.size();
  // +1 holds the group open until every command is queued (or refused below).
  shared->remaining.store(group.size() + 1, std::memory_order_relaxed);
  const Reason reason = impl_->Enqueue(&group);
  if (reason != Reason::kOk) {
    for (auto& pending : group) {
      impl_->CountRefusal(reason);
      pending.done(Refusal(reason, std::string(ReasonName(reason))));
    }
  }
  if (shared->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    shared->done(std::move(shared->outcomes));
  }
}

Outcome Ledger::Execute(v1::Command command) {
  std::promise<Outcome> promise;
  auto future = promise.get_future();
  Submit(std::move(command),
         [&promise](Outcome outcome) { promise.set_value(std::move(outcome)); });
  return future.get();
}

std::vector<Outcome> Ledger::ExecuteMany(std::vector<v1::Command> commands, bool all_or_nothing) {
  std::promise<std::vector<Outcome>> promise;
  auto future = promise.get_future();
  SubmitMany(
      std::move(commands),
      [&promise](std::vector<Outcome> outcomes) { promise.set_value(std::move(outcomes)); },
      all_or_nothing);
  return future.get();
}

Head Ledger::GetHead() const { return impl_->head(); }

Head Ledger::WaitForHead(std::uint64_t after_seq, absl::Duration timeout,
                         const std::atomic<bool>* cancel) const {
  return impl_->WaitForHead(after_seq, timeout, cancel);
}

void Ledger::WakeHeadWaiters() const { impl_->WakeHeadWaiters(); }

std::size_t Ledger::batch_size_max() const { return impl_->options.batch_size_max; }

absl::StatusOr<Head> Ledger::Backup(const std::string& dir) {
  if (dir.empty()) return absl::InvalidArgumentError("the backup needs a directory");
  std::error_code error;
  if (std::filesystem::exists(dir, error)) {
    return absl::AlreadyExistsError(Cat(dir, " exists: a backup goes into a new directory"));
  }
  // The tree as far as the head now (the builder may be gathering): the backup's proofs then
  // cover what it holds. Best effort: a tree short of it is rebuilt when the backup is opened.
  if (impl_->tree) impl_->tree->WaitFor(impl_->head().seq, absl::Seconds(10)).IgnoreError();
  rocksdb::Checkpoint* raw = nullptr;
  LOVEBANK_RETURN_IF_ERROR(
      FromRocks(rocksdb::Checkpoint::Create(impl_->store->db(), &raw), "starting a backup"));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // log_size_for_flush 0: flush the memtables first, so the backup is table files plus at most
  // the WAL written since; one consistent point in the journal either way.
  LOVEBANK_RETURN_IF_ERROR(
      FromRocks(checkpoint->CreateCheckpoint(dir, 0), Cat("writing the backup to ", dir)));
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, error);
  StoreOptions read_only;
  read_only.read_only = true;
  LOVEBANK_ASSIGN_OR_RETURN(auto copy, Store::Open(dir, read_only));
  LOVEBANK_ASSIGN_OR_RETURN(std::string seq, ReadMeta(*copy, meta_key::kHeadSeq, 8));
  LOVEBANK_ASSIGN_OR_RETURN(std::string hash, ReadMeta(*copy, meta_key::kHeadHash, 32));
  return Head{GetFixed64BE(seq.data()), *HashFromBytes(hash)};
}
std::string Ledger::ledger_id() const { return impl_->ledger_id; }
bool Ledger::failed() const { return impl_->failed.load(std::memory_order_acquire); }

Ledger::Metrics Ledger::metrics() const {
  Metrics metrics;
  metrics.batches = impl_->metric_batches.load(std::memory_order_relaxed);
  metrics.entries = impl_->metric_entries.load(std::memory_order_relaxed);
  metrics.commands = impl_->metric_commands.load(std::memory_order_relaxed);
  metrics.refusals.resize(kReasonValueEnd);
  for (std::uint32_t i = 0; i < kReasonValueEnd; ++i) {
    metrics.refusals[i] = impl_->metric_refusals[i].load(std::memory_order_relaxed);
  }
  metrics.batch_commands = impl_->metric_batch_commands.Read();
  metrics.commit_us = impl_->metric_commit_us.Read();
  metrics.sync_us = impl_->metric_sync_us.Read();
  metrics.queue_depth = impl_->QueueDepth();
  metrics.batches_in_flight = impl_->BatchesInFlight();
  metrics.head_seq = impl_->head().seq;
  if (impl_->tree) {
    const TreeBuilder::Progress tree = impl_->tree->progress();
    metrics.tree_size = tree.size;
    metrics.tree_writes = tree.writes;
  }
  return metrics;
}

std::size_t Ledger::Impl::QueueDepth() {
  absl::MutexLock lock(&mu_);
  return queue_.size();
}

std::size_t Ledger::Impl::BatchesInFlight() {
  absl::MutexLock lock(&mu_);
  return at_writer_;
}

// Why a command decided (or sealed) after a failed write is refused.
constexpr const char* kRefusedUntilReopened = "the ledger refuses writes until reopened";

Reason Ledger::Impl::Enqueue(std::vector<Pending>* group) {
  if (!engine) return Reason::kLedgerReadOnly;
  if (failed.load(std::memory_order_acquire)) return Reason::kLedgerUnavailable;
  bool wake = false;
  bool run_here = false;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return Reason::kLedgerUnavailable;
    if (queue_.size() + group->size() > options.queue_depth_max) return Reason::kLedgerBusy;
    if (options.lone_commands_on_caller) {
      // Idle: nothing queued, the sequencer between rounds (nothing open or taken), nothing
      // being written, and every earlier batch answered (answers go out in the order written).
      // Only after a few commands in a row found it so: at 4 clients and more the ledger is
      // idle now and then between calls, and a write on a gRPC thread there cost more than it
      // saved (issue #29, docs/benchmarks.md).
      bool idle = queue_.empty() && sequencer_idle_ && !sequencer_lent_ && at_writer_ == 0;
      if (idle) {
        absl::MutexLock pipe(&pipe_mu_);  // mu_ then pipe_mu_: nothing takes them the other way
        // The last caller lent the role has cleared its stage too (it clears it after its
        // answers, which end its in-flight count): one caller's stage at a time.
        idle = in_flight_ == 0 && !caller_stage_;
      }
      idle_streak_ = idle ? idle_streak_ + 1 : 0;
      run_here = idle && idle_streak_ > kIdleStreakForCaller && group->size() == 1 &&
                 (*group)[0].group_size == 0;
    }
    if (run_here) {
      sequencer_lent_ = true;
      ++at_writer_;     // the writer stage is the caller's too
      wake_depth_ = 1;  // what arrives meanwhile is decided meanwhile
    } else {
      const auto now = std::chrono::steady_clock::now();
      for (auto& pending : *group) {
        pending.queued = now;
        queue_.push_back(std::move(pending));
      }
      // The sequencer decides at once when the writer is free; while it syncs, a few commands
      // are taken per wake-up (a wake-up per command cost CPU the calls need at 64 clients).
      wake = at_writer_ == 0 || queue_.size() >= wake_depth_;
    }
  }
  if (run_here) {
    RunLone(std::move((*group)[0]));
  } else if (wake) {
    wake_.Signal();
  }
  return Reason::kOk;
}

void Ledger::Impl::RunLone(Pending pending) {
  pending.queued = std::chrono::steady_clock::now();
  // As a sequencer round with this one command: batches answered since its last round retired
  // first (or, after a failed write, rolled back: nothing is open, in flight or being answered).
  RetireWritten(/*may_roll_back=*/true);
  {
    absl::MutexLock lock(&pipe_mu_);
    ++in_flight_;
    caller_stage_ = true;  // before the role goes back: nothing sealed after can overtake
  }
  Sealed sealed;
  sealed.commands.push_back(std::move(pending));
  sealed.outcomes.resize(1);
  sealed.engine_batch = !failed.load(std::memory_order_acquire);
  if (sealed.engine_batch) {
    engine->BeginBatch(1);
    Decide(sealed.commands, sealed.outcomes, 0);
    sealed.write = engine->FinishBatch();
    sealed.head_after = engine->head();
  } else {
    sealed.outcomes[0] = Refusal(Reason::kLedgerUnavailable, kRefusedUntilReopened);
  }
  // The role back before the write: the sequencer decides what queues meanwhile into its next
  // batch, which it seals once this write is done (at_writer_), as behind the writer thread.
  bool wake = false;
  {
    absl::MutexLock lock(&mu_);
    sequencer_lent_ = false;
    wake = sequencer_waits_for_role_;
  }
  if (wake) wake_.Signal();
  if (options.after_role_returned) options.after_role_returned();
  WriteSealed(sealed);
  AfterWrite(std::move(sealed), /*by_caller=*/true);
}

void Ledger::Impl::StartThreads() {
  // Named so that top -H, perf and gdb show which stage is busy.
  writer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "lb-writer");
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);  // see SequencerLoop
    WriterLoop();
  });
  completer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "lb-completer");
    CompleterLoop();
  });
  sequencer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "lb-sequencer");
    // RocksDB counts every operation into a thread-local perf context by default; nothing reads
    // those counts, and turning them off measured +12% durable transfers/s (A/B alternated 3
    // times: 109-125k vs 128-136k, docs/benchmarks.md).
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
    SequencerLoop();
  });
  tree->Start(
      [this](std::uint64_t after, absl::Duration timeout, const std::atomic<bool>* cancel) {
        return WaitForHead(after, timeout, cancel);
      },
      [this] { WakeHeadWaiters(); });
}

void Ledger::Impl::StopThreads() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  wake_.Signal();
  if (sequencer_.joinable()) sequencer_.join();  // decides everything queued, then returns
  {
    absl::MutexLock lock(&pipe_mu_);
    writer_stopping_ = true;
  }
  write_wake_.Signal();
  if (writer_.joinable()) writer_.join();  // writes everything sealed, then returns
  {
    absl::MutexLock lock(&pipe_mu_);
    completer_stopping_ = true;
  }
  complete_wake_.Signal();
  if (completer_.joinable()) completer_.join();  // answers everything written, then returns
  if (tree) tree->Stop();                        // integrates everything written, then returns
}

void Ledger::Impl::SequencerLoop() {
  // Group commit with an open batch (issue #29): a command is decided as soon as it is taken
  // from the queue, into the batch that is open; the open batch is sealed and handed to the
  // writer as soon as the writer can take it (it has nothing else to write), or when it is
  // full and the writer has room for one more. So a lone command waits for one fsync, and the
  // commands that arrive while the writer syncs all go into its next write, instead of into
  // small batches that each wait their turn behind the one before.
  std::vector<Pending> commands;
  Sealed open;  // the batch being decided (engine batch open when `is_open`)
  bool is_open = false;
  bool open_by_release = false;  // opened to release expired holds, nothing queued
  // After a release-only batch wrote nothing (a release that cannot go yet, e.g. a balance at
  // its asset's maximum), the next try comes a second later (steady clock): no busy loop, and
  // the holds that expire meanwhile are still released while idle.
  std::chrono::steady_clock::time_point release_retry_at;  // the clock's epoch: no wait
  for (;;) {
    bool release_only = false;
    bool seal = false;
    bool writer_free = false;  // sealing because the writer has nothing to write
    commands.clear();
    {
      absl::MutexLock lock(&mu_);
      for (;;) {
        // The role is lent (RunLone): the engine is the borrower's until it gives it back.
        if (sequencer_lent_) {
          sequencer_waits_for_role_ = true;
          wake_.Wait(&mu_);
          sequencer_waits_for_role_ = false;
          continue;
        }
        // The writer is free: it takes what is decided, with what is queued now decided too.
        if (is_open && at_writer_ == 0) {
          seal = true;
          writer_free = true;
          ++at_writer_;
          break;
        }
        const bool fits = !queue_.empty() &&
                          (!is_open || open.commands.size() + std::max<std::size_t>(
                                                                  queue_.front().group_size, 1) <=
                                           options.batch_size_max);
        if (fits) break;
        if (is_open) {  // full (or the next group does not fit): sealed if the writer has room
          if (!queue_.empty() && at_writer_ < kBatchesInFlightMax) {
            seal = true;
            ++at_writer_;
            break;
          }
          wake_.Wait(&mu_);  // a command, or the writer done with a batch (sequencer_holds_)
          continue;
        }
        if (stopping_) return;  // everything queued is decided and written
        // Idle with an open hold: wake when it expires (at most a second later with a test
        // clock) and release it, so balances do not wait for the next command.
        const std::optional<std::int64_t> expiry =
            failed.load(std::memory_order_acquire) ? std::nullopt : engine->NextHoldExpiry();
        if (!expiry) {
          sequencer_idle_ = true;
          wake_.Wait(&mu_);
          sequencer_idle_ = false;
          continue;
        }
        std::int64_t wait_us =
            std::clamp<std::int64_t>(*expiry - options.clock_unix_us(), 0, 1'000'000);
        if (wait_us == 0) {
          const auto left = std::chrono::duration_cast<std::chrono::microseconds>(
                                release_retry_at - std::chrono::steady_clock::now())
                                .count();
          if (left > 0) wait_us = left;
        }
        if (wait_us == 0) {
          release_only = true;
          break;
        }
        sequencer_idle_ = true;
        wake_.WaitWithTimeout(&mu_, absl::Microseconds(wait_us));
        sequencer_idle_ = false;
      }
      // Whole all-or-nothing groups, as many as the open batch has room for (a group fits
      // alone: SubmitMany).
      while (!release_only && !queue_.empty()) {
        const std::size_t group = std::max<std::size_t>(queue_.front().group_size, 1);
        if ((is_open ? open.commands.size() : 0) + commands.size() + group >
                options.batch_size_max &&
            (is_open || !commands.empty())) {
          break;
        }
        for (std::size_t i = 0; i < group; ++i) {
          commands.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      // After this round an open batch (commands, or releases of expired holds) waits for the
      // writer's next write: what the writer asks to decide whether to wake the sequencer and
      // whether to hand its callers to the completer. A release-only batch counts (it once did
      // not: its release waited for the next command, and a close meanwhile forever).
      sequencer_holds_ = !seal && (is_open || !commands.empty() || release_only);
    }
    RetireWritten(/*may_roll_back=*/!is_open);
    if (!commands.empty() || release_only) {
      if (!is_open) {
        is_open = true;
        // After a failed write nothing is decided (and no engine batch opened): the commands
        // are refused in order, behind the batches in flight.
        open.engine_batch = !failed.load(std::memory_order_acquire);
        if (open.engine_batch) engine->BeginBatch(commands.size());
        if (release_only && open.engine_batch) {
          open_by_release = true;
          engine->ReleaseExpired();
        }
      }
      const std::size_t first = open.commands.size();
      for (auto& pending : commands) open.commands.push_back(std::move(pending));
      open.outcomes.resize(open.commands.size());
      if (!open.engine_batch || failed.load(std::memory_order_acquire)) {
        for (std::size_t i = first; i < open.outcomes.size(); ++i) {
          open.outcomes[i] = Refusal(Reason::kLedgerUnavailable, kRefusedUntilReopened);
        }
      } else {
        Decide(open.commands, open.outcomes, first);
      }
    }
    if (seal) {
      Sealed sealed = std::move(open);
      open = Sealed();
      is_open = false;
      if (sealed.engine_batch) {
        sealed.write = engine->FinishBatch();
        if (open_by_release && sealed.commands.empty()) {
          release_retry_at = sealed.write.Count() == 0
                                 ? std::chrono::steady_clock::now() + std::chrono::seconds(1)
                                 : std::chrono::steady_clock::time_point();
        }
        sealed.head_after = engine->head();
      }
      open_by_release = false;
      // While the writer syncs this batch, callers need not wake the sequencer for each
      // command: a quarter of this batch's size queued is worth a wake-up (the writer's
      // signal when it is free takes the rest). At low load that is every command.
      const std::size_t wake_depth = std::max<std::size_t>(1, sealed.commands.size() / 4);
      bool write_here = false;
      {
        absl::MutexLock lock(&mu_);
        wake_depth_ = wake_depth;
        write_here = writer_free && queue_.empty() && sealed.commands.size() <= 1 &&
                     options.lone_batches_on_sequencer;
      }
      {
        absl::MutexLock lock(&pipe_mu_);
        // Writing here also needs every earlier batch answered (none being written or answered):
        // answers go out in the order written. (A command queued since the check above waits
        // for the next round, as it would behind any write.)
        write_here = write_here && in_flight_ == 0;
        if (!write_here) to_write_.push_back(std::move(sealed));
        ++in_flight_;
      }
      if (write_here) {
        // A lone batch at low load: written and answered on this thread. A hand-off to the
        // writer would cost a wake-up and two context switches (~30-60 µs of CPU on this
        // machine kind) for a batch whose decisions took less; what queues meanwhile is
        // decided after the write instead of during it, which costs little at such load.
        WriteSealed(sealed);
        AfterWrite(std::move(sealed));
      } else {
        write_wake_.Signal();
      }
    }
  }
}

void Ledger::Impl::Decide(std::vector<Pending>& commands, std::vector<Outcome>& outcomes,
                          std::size_t first) {
  for (std::size_t i = first; i < commands.size();) {
    const std::size_t group = commands[i].group_size;
    if (group == 0) {
      outcomes[i] =
          engine->Apply(commands[i].command, commands[i].fingerprint, commands[i].serialized);
      ++i;
      continue;
    }
    // Every command of the group is decided, so that each refused one reports its own reason.
    engine->Mark();
    bool all_ok = true;
    for (std::size_t j = i; j < i + group; ++j) {
      outcomes[j] =
          engine->Apply(commands[j].command, commands[j].fingerprint, commands[j].serialized);
      all_ok = all_ok && outcomes[j].ok();
    }
    if (all_ok) {
      engine->ReleaseMark();
    } else {
      engine->RollBackToMark();
      // The refusals stay remembered (the rollback took their records with it): a retry of the
      // group is refused the same way and can never flip to applied.
      for (std::size_t j = i; j < i + group; ++j) {
        if (!outcomes[j].ok()) {
          outcomes[j].decided_at_seq = engine->head().seq;  // the group's entries are gone
          engine->RememberRefusal(commands[j].command, commands[j].fingerprint, outcomes[j]);
        }
      }
      std::vector<Outcome> group_outcomes(outcomes.begin() + i, outcomes.begin() + i + group);
      AbortOthers(group_outcomes);
      std::move(group_outcomes.begin(), group_outcomes.end(), outcomes.begin() + i);
    }
    i += group;
  }
}

void Ledger::Impl::RetireWritten(bool may_roll_back) {
  std::size_t written_ok = 0;
  bool write_failed = false;
  std::vector<Sealed> spent;  // freed on return, outside the lock
  {
    absl::MutexLock lock(&pipe_mu_);
    written_ok = std::exchange(written_ok_, 0);
    write_failed = write_failed_;
    spent.swap(spent_);
  }
  for (std::size_t i = 0; i < written_ok; ++i) engine->RetireOldest();
  // After a failed write every later batch was refused too (the writer checks `failed`): undo
  // them all so the in-memory state is the committed one again.
  if (write_failed && may_roll_back && engine->in_flight() > 0) {
    {
      absl::MutexLock lock(&pipe_mu_);
      while (in_flight_ != 0) pipe_wake_.Wait(&pipe_mu_);
    }
    engine->RollBackAll();
  }
}

void Ledger::Impl::WriterLoop() {
  for (;;) {
    Sealed sealed;
    {
      absl::MutexLock lock(&pipe_mu_);
      while (caller_stage_ || (to_write_.empty() && !writer_stopping_)) {
        write_wake_.Wait(&pipe_mu_);
      }
      if (to_write_.empty()) return;
      sealed = std::move(to_write_.front());
      to_write_.pop_front();
    }
    WriteSealed(sealed);
    AfterWrite(std::move(sealed));
  }
}

void Ledger::Impl::WriteSealed(Sealed& sealed) {
  if (!failed.load(std::memory_order_acquire)) {
    const std::uint64_t seq_before = head().seq;
    const auto sync_start = std::chrono::steady_clock::now();
    absl::Status status =
        sealed.write.Count() == 0 ? absl::OkStatus() : store->WriteSynced(&sealed.write);
    if (status.ok()) {
      set_head(sealed.head_after);
      sealed.written = true;
      if (sealed.write.Count() != 0) {
        metric_sync_us.Observe(
            static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                           std::chrono::steady_clock::now() - sync_start)
                                           .count()));
        metric_batches.fetch_add(1, std::memory_order_relaxed);
        metric_entries.fetch_add(sealed.head_after.seq - seq_before, std::memory_order_relaxed);
      }
    } else {
      // The write's fate is unknown (it may surface after a reopen): refuse everything from
      // here on (STYLE.md 5); the sequencer rolls the in-memory state back.
      failed.store(true, std::memory_order_release);
      for (auto& outcome : sealed.outcomes) {
        outcome = Refusal(Reason::kLedgerUnavailable, std::string(status.message()));
      }
    }
  } else {  // an earlier write failed: this batch was decided on top of it, or not at all
    for (auto& outcome : sealed.outcomes) {
      if (outcome.reason != Reason::kLedgerUnavailable) {
        outcome = Refusal(Reason::kLedgerUnavailable, kRefusedUntilReopened);
      }
    }
  }
}

void Ledger::Impl::AfterWrite(Sealed sealed, bool by_caller) {
  // The writer stage is free for the next batch: the sequencer seals the open one now. When one
  // is coming (a batch open or commands queued), the completer thread answers this batch's
  // callers (a gRPC answer is a sendmsg each) while the next is written; otherwise the thread
  // that wrote this one (the writer, or the sequencer for a lone batch) answers them itself,
  // without a hand-off (a lone caller waits for no extra wake-up). Answering on the sequencer
  // holds up decisions as well as writes while the callbacks run: they must not block (gRPC's
  // and the HTTP gateway's only hand the answer on).
  bool next_coming = false;
  {
    absl::MutexLock lock(&mu_);
    --at_writer_;
    next_coming = sequencer_holds_ || !queue_.empty();
  }
  // The sequencer waits for a free writer only with a batch open or commands queued; with
  // neither, a wake-up would find nothing to do (its next round retires this batch, or rolls it
  // back after a failed write; Enqueue refuses every command meanwhile). A wake-up is a futex
  // call and two context switches, each expensive here (issue #29: ~12 switches and ~400 µs of
  // server CPU per lone call).
  if (next_coming) wake_.Signal();
  bool hand_off = false;
  {
    absl::MutexLock lock(&pipe_mu_);
    // In order: while the completer has batches, the writer's go behind them. At most
    // kCompletingMax wait for their answers: a slow completer (answers to slow connections)
    // holds the writer back, and through it the sequencer, the queue and kLedgerBusy, instead
    // of piling up written batches (each keeps its commands and the engine's undo records
    // until answered).
    hand_off = next_coming || completing_ > 0;
    while (hand_off && completing_ >= kCompletingMax) pipe_wake_.Wait(&pipe_mu_);
    if (hand_off) {
      to_complete_.push_back(std::move(sealed));
      ++completing_;
    }
  }
  if (hand_off) {
    complete_wake_.Signal();
  } else {
    Complete(sealed);
  }
  if (by_caller) {  // answered, or in line at the completer: the writer may go on
    bool sealed_behind = false;
    {
      absl::MutexLock lock(&pipe_mu_);
      caller_stage_ = false;
      sealed_behind = !to_write_.empty() || writer_stopping_;
    }
    if (sealed_behind) write_wake_.Signal();  // also a writer told to stop while it waited
  }
}

void Ledger::Impl::CompleterLoop() {
  for (;;) {
    Sealed sealed;
    {
      absl::MutexLock lock(&pipe_mu_);
      while (to_complete_.empty() && !completer_stopping_) complete_wake_.Wait(&pipe_mu_);
      if (to_complete_.empty()) return;
      sealed = std::move(to_complete_.front());
      to_complete_.pop_front();
    }
    Complete(sealed);
    {
      absl::MutexLock lock(&pipe_mu_);
      --completing_;
    }
    pipe_wake_.SignalAll();  // the writer may wait for room (kCompletingMax)
  }
}

void Ledger::Impl::Complete(Sealed& sealed) {
  // Completion after the write, with no lock held (STYLE.md 10), batch after batch in the order
  // written (the thread that wrote one answers it itself only when the completer has none).
  const auto now = std::chrono::steady_clock::now();
  if (!sealed.commands.empty()) {
    metric_commands.fetch_add(sealed.commands.size(), std::memory_order_relaxed);
    metric_batch_commands.Observe(sealed.commands.size());
  }
  for (std::size_t i = 0; i < sealed.commands.size(); ++i) {
    if (!sealed.outcomes[i].ok()) CountRefusal(sealed.outcomes[i].reason);
    metric_commit_us.Observe(static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(now - sealed.commands[i].queued)
            .count()));
    sealed.commands[i].done(std::move(sealed.outcomes[i]));
  }
  {
    absl::MutexLock lock(&pipe_mu_);
    if (sealed.written) {
      ++written_ok_;
    } else if (failed.load(std::memory_order_acquire)) {
      write_failed_ = true;
    }
    spent_.push_back(std::move(sealed));
    --in_flight_;
  }
  pipe_wake_.SignalAll();
}

}  // namespace lovebank
