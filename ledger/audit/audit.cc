// The audit's driver: reads records from a source, checks sequence, chain and hashes, decodes,
// replays (replay.cc) and finally compares the store (compare.cc).

#include "ledger/audit/audit.h"

#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "google/protobuf/arena.h"
#include "ledger/audit/entry_decoder.h"
#include "ledger/audit/replay.h"
#include "ledger/audit/tree.h"
#include "ledger/base/check.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "ledger/format/signature.h"
#include "ledger/storage/store.h"
#include "rocksdb/perf_level.h"

namespace lovebank::audit {

// How far a journal key may jump ahead and still be replayed (state is indexed by seq).
constexpr std::uint64_t kSeqJumpMax = 1u << 20;

const char* FindingKindName(FindingKind kind) {
  switch (kind) {
    case FindingKind::kSeqGap:
      return "SEQ_GAP";
    case FindingKind::kKeyMalformed:
      return "KEY_MALFORMED";
    case FindingKind::kEntryMalformed:
      return "ENTRY_MALFORMED";
    case FindingKind::kChainBroken:
      return "CHAIN_BROKEN";
    case FindingKind::kHashMismatch:
      return "HASH_MISMATCH";
    case FindingKind::kPayloadUndecodable:
      return "PAYLOAD_UNDECODABLE";
    case FindingKind::kSeqMismatch:
      return "SEQ_MISMATCH";
    case FindingKind::kTimeWentBack:
      return "TIME_WENT_BACK";
    case FindingKind::kCommandInvalid:
      return "COMMAND_INVALID";
    case FindingKind::kRequestIdDuplicate:
      return "REQUEST_ID_DUPLICATE";
    case FindingKind::kRuleViolated:
      return "RULE_VIOLATED";
    case FindingKind::kPostingsMismatch:
      return "POSTINGS_MISMATCH";
    case FindingKind::kZeroSumViolated:
      return "ZERO_SUM_VIOLATED";
    case FindingKind::kBalanceLimit:
      return "BALANCE_LIMIT";
    case FindingKind::kReversalInvalid:
      return "REVERSAL_INVALID";
    case FindingKind::kHeadMismatch:
      return "HEAD_MISMATCH";
    case FindingKind::kRecordMissing:
      return "RECORD_MISSING";
    case FindingKind::kRecordExtra:
      return "RECORD_EXTRA";
    case FindingKind::kRecordDiffers:
      return "RECORD_DIFFERS";
    case FindingKind::kDigestMismatch:
      return "DIGEST_MISMATCH";
    case FindingKind::kActorNotAuthorized:
      return "ACTOR_NOT_AUTHORIZED";
  }
  return "UNKNOWN";
}

std::optional<Digest> ParseDigest(std::string_view text) {
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 20 ||
      text.size() - colon - 1 != 64) {
    return std::nullopt;
  }
  Digest digest;
  for (char c : text.substr(0, colon)) {
    if (c < '0' || c > '9') return std::nullopt;
    const std::uint64_t next = digest.seq * 10 + static_cast<std::uint64_t>(c - '0');
    if (next / 10 != digest.seq) return std::nullopt;  // overflow
    digest.seq = next;
  }
  if (digest.seq == 0) return std::nullopt;
  const auto bytes = FromHex(text.substr(colon + 1));
  if (!bytes || bytes->size() != digest.hash.size()) return std::nullopt;
  std::copy(bytes->begin(), bytes->end(), digest.hash.begin());
  return digest;
}

namespace {

// Reads the store through one snapshot taken before anything else, so the claimed head and
// the journal agree even beside a running writer.
class StoreJournalSource : public JournalSource {
 public:
  explicit StoreJournalSource(Store& store) : store_(store), snapshot_(store.db()->GetSnapshot()) {}
  ~StoreJournalSource() override {
    it_.reset();
    store_.db()->ReleaseSnapshot(snapshot_);
  }

  absl::Status ReadMeta() {
    LOVEBANK_ASSIGN_OR_RETURN(auto ledger_id,
                              store_.Get(Family::kMeta, meta_key::kLedgerId, snapshot_));
    LOVEBANK_ASSIGN_OR_RETURN(auto head_seq,
                              store_.Get(Family::kMeta, meta_key::kHeadSeq, snapshot_));
    LOVEBANK_ASSIGN_OR_RETURN(auto head_hash,
                              store_.Get(Family::kMeta, meta_key::kHeadHash, snapshot_));
    if (!ledger_id.has_value() || ledger_id->size() != kLedgerIdBytes) {
      return absl::DataLossError(
          "the store has no ledger id: not a lovebank ledger, or meta was erased");
    }
    ledger_id_ = *ledger_id;
    // A missing or malformed head is a finding (kHeadMismatch), not a reason not to audit.
    if (head_seq.has_value() && head_seq->size() == 8) head_.seq = GetFixed64BE(head_seq->data());
    if (head_hash.has_value()) {
      if (auto hash = HashFromBytes(*head_hash)) head_.hash = *hash;
    }
    // No block checksums: the chain's SHA-256 covers every byte of every record (its seq
    // included), so a damaged block is named as findings at the seqs it holds, where a
    // checksum failure would stop the audit with nothing named (~6 % of the reader's CPU).
    rocksdb::ReadOptions read_options;
    read_options.snapshot = snapshot_;
    read_options.verify_checksums = false;
    it_.reset(store_.db()->NewIterator(read_options, store_.handle(Family::kJournal)));
    it_->SeekToFirst();
    return absl::OkStatus();
  }

  std::string ledger_id() const override { return ledger_id_; }
  Digest claimed_head() const override { return head_; }
  absl::StatusOr<bool> Next(RawRecord* record) override {
    if (!it_->Valid()) {
      LOVEBANK_RETURN_IF_ERROR(FromRocks(it_->status(), "reading the journal"));
      return false;
    }
    record->key.assign(it_->key().data(), it_->key().size());
    record->value.assign(it_->value().data(), it_->value().size());
    it_->Next();
    return true;
  }

 private:
  Store& store_;
  const rocksdb::Snapshot* snapshot_;
  std::string ledger_id_;
  Digest head_;
  std::unique_ptr<rocksdb::Iterator> it_;
};

void AddTotals(const ReplayState& state, Report& report) {
  std::map<std::string, AssetTotals> totals;
  for (const auto& [code, asset] : state.assets) {
    totals[code].asset = code;
    totals[code].scale = asset.scale;
  }
  for (const auto& [key, balance] : state.balances) {
    const std::size_t zero = key.find('\0');
    const std::string account = key.substr(0, zero);
    const std::string asset = key.substr(zero + 1);
    auto found = state.accounts.find(account);
    if (found == state.accounts.end() || !totals.contains(asset)) continue;
    AssetTotals& total = totals[asset];
    const boost::multiprecision::cpp_int minor(MinorToString(balance.minor));
    switch (found->second.record.kind()) {
      case v1::ACCOUNT_KIND_ISSUER:
        total.issued_minor -= minor;
        break;
      case v1::ACCOUNT_KIND_STORE:
        total.redeemed_minor += minor;
        break;
      default:
        total.circulating_minor += minor;
        break;
    }
  }
  for (auto& [code, total] : totals) report.totals.push_back(std::move(total));
  for (const auto& [key, figures] : state.store_months) {
    report.store_months.push_back(figures);
    if (auto store = state.accounts.find(absl::string_view(figures.store));
        store != state.accounts.end()) {
      report.display_names.emplace(figures.store, store->second.record.display_name());
    }
  }
  for (const auto& [key, rule] : state.award_rules) {
    report.display_names.emplace(rule.rule().code(), rule.rule().description());
  }
  boost::multiprecision::cpp_int owed_hours = 0;
  boost::multiprecision::cpp_int owed_points = 0;
  for (const auto& [month, figures] : state.programme_months) {
    ProgrammeMonth& m = report.programme_months.emplace_back(figures);
    if (month == state.current_month) m.last_seq = state.head.seq;  // the month still open
    // As of the month's end: everything counted in it or in a month before it.
    owed_hours += m.owed_hours_delta_minor;
    owed_points += m.owed_points_delta_minor;
    m.outstanding_hours_minor = owed_hours;
    m.outstanding_points_minor = owed_points;
  }
  for (const auto& [key, minor] : state.flows) {
    auto asset = state.assets.find(key.first);
    report.flows.push_back(
        Flow{key.first, key.second, asset == state.assets.end() ? 0u : asset->second.scale, minor});
  }
  for (const auto& [name, principal] : state.principals) report.principals.push_back(principal);
  for (const auto& [key, record] : state.settings) report.settings.push_back(record);
  for (const auto& [key, cosigned] : state.cosignatures) report.cosignatures.push_back(cosigned);
  // The public notice lists them: the kWitnessesShownMax of the largest heads (an auditor could
  // make any number of keys).
  std::stable_sort(report.cosignatures.begin(), report.cosignatures.end(),
                   [](const Cosigned& a, const Cosigned& b) {
                     return a.cosign.tree_size() > b.cosign.tree_size();
                   });
  if (report.cosignatures.size() > kWitnessesShownMax) {
    report.cosignatures.resize(kWitnessesShownMax);
  }
  report.signing_keys = state.signing_keys;
  report.ledger_id = state.ledger_id;
}

}  // namespace

std::string DecimalText(const boost::multiprecision::cpp_int& minor, std::uint32_t scale) {
  const bool negative = minor < 0;
  std::string digits = (negative ? boost::multiprecision::cpp_int(-minor) : minor).str();
  if (digits.size() <= scale) digits = std::string(scale + 1 - digits.size(), '0') + digits;
  std::string out = negative ? "-" : "";
  out += digits.substr(0, digits.size() - scale);
  if (scale > 0) out += "." + digits.substr(digits.size() - scale);
  return out;
}

absl::StatusOr<std::unique_ptr<JournalSource>> StoreSource(Store& store) {
  auto source = std::make_unique<StoreJournalSource>(store);
  LOVEBANK_RETURN_IF_ERROR(source->ReadMeta());
  return std::unique_ptr<JournalSource>(std::move(source));
}

namespace {

// The first stage of the audit, on its own thread: reads records, checks sequence, chain and
// hashes, and decodes the payload. These checks need nothing
// from the replay but the previous hash, so they overlap with the replay of the previous chunk.
struct Parsed {
  std::vector<Finding> findings;  // found while reading; usually empty
  v1::Entry* entry = nullptr;     // owned by the chunk; null when not to be replayed
  // CommandFingerprint(entry->command()), when a store will be compared (nothing else reads
  // it): computed by the reader for a payload protobuf parsed; for a canonical one
  // (`fingerprint_deferred`) the replay thread hashes the command's bytes, kept in the chunk's
  // `commands` at [command_at, command_at + command_size) (the two threads' loads balance).
  Hash fingerprint{};
  bool fingerprint_deferred = false;
  std::size_t command_at = 0;
  std::size_t command_size = 0;
  // Some records' SHA-256 is checked on the replay thread (Reader::deferred_quarters_), for the
  // same reason: ChainHash(prev_hash, seq, payload) must be `hash`, the payload kept in the
  // chunk's `payloads` at [payload_at, payload_at + payload_size); a mismatch goes into
  // `findings` at `hash_finding_at`, where the reader would have put it.
  bool hash_deferred = false;
  std::size_t hash_finding_at = 0;
  std::size_t payload_at = 0;
  std::size_t payload_size = 0;
  std::uint64_t seq = 0;
  Hash hash{};
  Hash prev_hash{};
  AccountHints hints;  // filled by the replay thread a few entries ahead
};

Finding HashMismatch(std::uint64_t seq, const Hash& computed, const Hash& stored) {
  return Finding{FindingKind::kHashMismatch, seq, "journal", HashToHex(computed),
                 HashToHex(stored)};
}

// Entries per chunk: large enough that hand-over costs nothing, small enough (~1 MB) to stay in
// cache between the two threads.
constexpr std::size_t kChunkEntries = 2048;
constexpr std::size_t kChunksInFlight = 4;

struct Chunk {
  // Entries the canonical decoder filled, reused from fill to fill: their strings keep their
  // capacity, so decoding allocates nothing once the chunk has gone round once. `slots_used`
  // of them hold this fill's entries.
  std::vector<std::unique_ptr<v1::Entry>> slots;
  std::size_t slots_used = 0;
  // Entries protobuf's parser decoded (payloads not in canonical form: rare).
  std::unique_ptr<google::protobuf::Arena> arena = std::make_unique<google::protobuf::Arena>();
  std::string commands;  // canonical commands' bytes, for their fingerprints (Parsed)
  std::string payloads;  // payloads whose hash the replay thread checks (Parsed)
  std::vector<Parsed> items;
  absl::Status status;  // the source failed: the audit cannot complete
  bool last = false;
};

class Reader {
 public:
  // `fingerprints`: whether commands are fingerprinted (a store will be compared).
  Reader(JournalSource& source, const Options& options, bool fingerprints)
      : source_(source),
        fingerprints_(fingerprints),
        deferred_quarters_(fingerprints ? 1 : 4),
        genesis_(GenesisHash(source.ledger_id())),
        last_hash_(genesis_) {
    for (const Digest& digest : options.expected_digests) digests_[digest.seq] = digest.hash;
  }

  // `chunk` is a new one or a spent one the replay handed back, emptied.
  Chunk Fill(Chunk chunk) {
    chunk.items.reserve(kChunkEntries);
    while (chunk.items.size() < kChunkEntries) {
      auto more = source_.Next(&record_);
      if (!more.ok()) {
        chunk.status = more.status();
        chunk.last = true;
        return chunk;
      }
      if (!*more) {
        chunk.last = true;
        return chunk;
      }
      ++entries_;
      Read(record_, chunk);
    }
    return chunk;
  }

  // After the last chunk: what only the reader knows.
  void Finish(Findings& findings, Digest& head) {
    for (const auto& [seq, hash] : digests_) {
      if (seq > head_.seq) {
        findings.Add(FindingKind::kDigestMismatch, seq, "published digest", HashToHex(hash),
                     Cat("the journal ends at seq ", head_.seq));
      }
    }
    head = head_.seq == 0 ? Digest{0, genesis_} : head_;
  }
  std::uint64_t entries() const { return entries_; }
  const TreeDigest& tree() const { return tree_; }
  const RecentHeads& recent() const { return recent_; }
  void CheckpointTreeAt(std::uint64_t size) { tree_.CheckpointAt(size); }

 private:
  void Read(const RawRecord& record, Chunk& chunk) {
    Parsed& parsed = chunk.items.emplace_back();
    auto add = [&parsed](FindingKind kind, std::uint64_t seq, std::string where,
                         std::string expected, std::string found) {
      parsed.findings.push_back(
          Finding{kind, seq, std::move(where), std::move(expected), std::move(found)});
    };
    if (record.key.size() != 8) {
      add(FindingKind::kKeyMalformed, 0, Cat("journal ", ToHex(record.key)),
          "an 8-byte sequence number", Cat(record.key.size(), " bytes"));
      return;
    }
    const std::uint64_t seq = GetFixed64BE(record.key.data());
    if (seq != expected_seq_) {
      add(FindingKind::kSeqGap, seq, "journal", Cat("seq ", expected_seq_), Cat("seq ", seq));
    }
    // The replay indexes entries by seq; a key far beyond the expected one (a forged or
    // corrupted key) is reported and not replayed, rather than sizing state by it.
    if (seq == 0 || seq - expected_seq_ > kSeqJumpMax) {
      add(FindingKind::kKeyMalformed, seq, "journal", Cat("a seq near ", expected_seq_),
          Cat("seq ", seq, ", not replayed"));
      return;
    }
    expected_seq_ = seq + 1;
    auto view = DecodeStoredEntry(record.value);
    if (!view) {
      add(FindingKind::kEntryMalformed, seq, "journal", "version 1 header of 65 bytes",
          Cat(record.value.size(), " bytes"));
      return;
    }
    if (view->prev_hash != last_hash_) {
      add(FindingKind::kChainBroken, seq, "journal", HashToHex(last_hash_),
          HashToHex(view->prev_hash));
    }
    if (seq % 4 < deferred_quarters_) {
      parsed.hash_deferred = true;
      parsed.hash_finding_at = parsed.findings.size();
      parsed.payload_at = chunk.payloads.size();
      parsed.payload_size = view->payload.size();
      parsed.seq = seq;
      parsed.hash = view->hash;
      parsed.prev_hash = view->prev_hash;
      chunk.payloads.append(view->payload);
    } else if (const Hash computed = ChainHash(view->prev_hash, seq, view->payload);
               computed != view->hash) {
      parsed.findings.push_back(HashMismatch(seq, computed, view->hash));
    }
    last_hash_ = view->hash;
    head_ = Digest{seq, view->hash};
    recent_.Append(view->hash, 0, tree_.frontier());  // its time once its payload is read
    tree_.Append(view->hash);
    if (auto digest = digests_.find(seq);
        digest != digests_.end() && digest->second != view->hash) {
      add(FindingKind::kDigestMismatch, seq, "published digest", HashToHex(digest->second),
          HashToHex(view->hash));
    }
    if (chunk.slots_used == chunk.slots.size()) {
      chunk.slots.push_back(std::make_unique<v1::Entry>());
    }
    v1::Entry* entry = chunk.slots[chunk.slots_used].get();
    std::string_view command_bytes;
    const bool canonical = DecodeCanonicalEntry(view->payload, entry, &command_bytes);
    if (canonical) {
      ++chunk.slots_used;
    } else {  // protobuf's parser, into a fresh message
      entry = google::protobuf::Arena::CreateMessage<v1::Entry>(chunk.arena.get());
      if (!entry->ParseFromArray(view->payload.data(), static_cast<int>(view->payload.size()))) {
        add(FindingKind::kPayloadUndecodable, seq, "journal", "a lovebank.v1.Entry",
            Cat(view->payload.size(), " undecodable bytes"));
        return;
      }
    }
    // A canonical command is its own serialization: no re-serializing to fingerprint it.
    if (fingerprints_ && canonical) {
      parsed.fingerprint_deferred = true;
      parsed.command_at = chunk.commands.size();
      parsed.command_size = command_bytes.size();
      chunk.commands.append(command_bytes);
    } else if (fingerprints_) {
      parsed.fingerprint = *HashFromBytes(CommandFingerprint(entry->command()));
    }
    if (entry->seq() != seq) {
      add(FindingKind::kSeqMismatch, seq, "journal", Cat("seq ", seq),
          Cat("payload seq ", entry->seq()));
      entry->set_seq(seq);
    }
    if (entry->command().has_cosign_head()) {
      if (std::string problem =
              CosignProblem(entry->command().cosign_head(), entry->command().actor(), seq);
          !problem.empty()) {
        add(FindingKind::kRuleViolated, seq, "co-signature",
            "a witness's signature of this ledger's head", std::move(problem));
      }
    }
    recent_.SetLastTime(entry->time_unix_us());
    parsed.entry = entry;
  }

  // A journaled co-signature (entry `seq`) against the heads this reader computed: within the
  // lag, this ledger's root and time of that size, signed by the witness key.
  std::string CosignProblem(const v1::CosignHead& cosign, const std::string& witness,
                            std::uint64_t seq) const {
    const auto key = signature::PublicKeyFromBytes(cosign.witness_key());
    const auto signed_bytes = signature::SignatureFromBytes(cosign.signature());
    if (!key || !signed_bytes || cosign.root().size() != 32)
      return "malformed key, root or signature";
    if (cosign.tree_size() == 0 || cosign.tree_size() >= seq) {
      return Cat("tree size ", cosign.tree_size(), " is not before the entry");
    }
    if (seq - 1 - cosign.tree_size() > merkle::kCosignLagMax) {
      return Cat("tree size ", cosign.tree_size(), " is more than ", merkle::kCosignLagMax,
                 " entries behind");
    }
    const auto head = recent_.At(cosign.tree_size());
    if (!head) return "the head of that size is not in the journal read";
    signature::TreeHead signed_head;
    signed_head.ledger_id = std::string(source_.ledger_id());
    signed_head.tree_size = cosign.tree_size();
    std::memcpy(signed_head.root.data(), cosign.root().data(), 32);
    signed_head.time_unix_us = cosign.time_unix_us();
    if (signed_head.root != head->root) {
      return Cat("root ", ToHex(cosign.root()), ", not the root ", HashToHex(head->root));
    }
    if (cosign.time_unix_us() != head->time_unix_us) {
      return Cat("time ", cosign.time_unix_us(), ", not entry ", cosign.tree_size(), "'s ",
                 head->time_unix_us);
    }
    if (!signature::Verify(*key, signature::CosignMessage(signed_head, witness), *signed_bytes)) {
      return "the signature does not verify under the witness key";
    }
    return {};
  }

  JournalSource& source_;
  const bool fingerprints_;
  // How many records in four have their hash checked on the replay thread (those whose
  // seq % 4 is below it), measured to balance the two threads (audit_bench): one when the
  // replay also fingerprints commands and keeps statement digests (two: slower), all four when
  // it does not (two and three: slower).
  const std::uint64_t deferred_quarters_;
  RawRecord record_;  // refilled by every Next
  const Hash genesis_;
  Hash last_hash_;
  std::uint64_t expected_seq_ = 1;
  std::uint64_t entries_ = 0;
  Digest head_;
  TreeDigest tree_;     // over the stored hashes in journal order
  RecentHeads recent_;  // the last heads, for co-signatures
  std::map<std::uint64_t, Hash> digests_;
};

// On the replay thread, what the reader left to it (Parsed): the hash check of a deferred record
// and the fingerprint of a canonical command.
void FinishParsed(const Chunk& chunk, Parsed& parsed) {
  if (parsed.hash_deferred) {
    const Hash computed =
        ChainHash(parsed.prev_hash, parsed.seq,
                  std::string_view(chunk.payloads).substr(parsed.payload_at, parsed.payload_size));
    if (computed != parsed.hash) {
      parsed.findings.insert(
          parsed.findings.begin() + static_cast<std::ptrdiff_t>(parsed.hash_finding_at),
          HashMismatch(parsed.seq, computed, parsed.hash));
    }
  }
  if (parsed.entry != nullptr && parsed.fingerprint_deferred) {
    parsed.fingerprint = SerializedCommandFingerprint(
        std::string_view(chunk.commands).substr(parsed.command_at, parsed.command_size));
  }
}

// CPU time the calling thread has used.
double ThreadCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

// A bounded hand-over of chunks from the reader thread to the replay.
class ChunkQueue {
 public:
  void Push(Chunk chunk) {
    absl::MutexLock lock(&mu_);
    while (chunks_.size() >= kChunksInFlight && !closed_) space_.Wait(&mu_);
    if (closed_) return;
    chunks_.push_back(std::move(chunk));
    ready_.Signal();
  }
  Chunk Pop() {
    absl::MutexLock lock(&mu_);
    while (chunks_.empty()) ready_.Wait(&mu_);
    Chunk chunk = std::move(chunks_.front());
    chunks_.pop_front();
    space_.Signal();
    return chunk;
  }
  // A replayed chunk, back for the reader to fill again. Emptied here, on the replay's thread:
  // the reader is the busier of the two.
  void Recycle(Chunk chunk) {
    chunk.arena->Reset();
    chunk.slots_used = 0;
    chunk.commands.clear();
    chunk.payloads.clear();
    chunk.items.clear();
    absl::MutexLock lock(&mu_);
    spare_.push_back(std::move(chunk));
  }
  Chunk Spare() {
    absl::MutexLock lock(&mu_);
    if (spare_.empty()) return Chunk();
    Chunk chunk = std::move(spare_.back());
    spare_.pop_back();
    return chunk;
  }
  // The consumer stops early: release a reader blocked in Push.
  void Close() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    space_.SignalAll();
  }

 private:
  absl::Mutex mu_;
  absl::CondVar ready_;
  absl::CondVar space_;
  std::deque<Chunk> chunks_ ABSL_GUARDED_BY(mu_);
  std::vector<Chunk> spare_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

namespace {

struct Pass {
  Report report;
  bool needs_exact = false;
};

absl::StatusOr<Pass> RunPass(JournalSource& source, Store* store, const Options& options,
                             ReplayState::Mode mode) {
  Pass pass;
  Report& report = pass.report;
  Findings findings;
  ReplayState state;
  state.ledger_id = source.ledger_id();
  state.mode = mode;
  state.compare_store = store != nullptr;
  // Sized for the head the source claims, up to 4M entries and what the source can hold: a lying
  // header must not make the audit allocate wildly.
  const std::size_t expected_entries = static_cast<std::size_t>(std::min<std::uint64_t>(
      {source.claimed_head().seq, source.record_bound(), std::uint64_t{1} << 22}));
  if (mode == ReplayState::Mode::kExact) {
    state.requests.reserve(expected_entries);
  } else {
    state.request_hashes.reserve(expected_entries);
  }
  state.entries.reserve(expected_entries);

  Reader reader(source, options, state.compare_store);
  if (store != nullptr) {
    // The store's tree is built behind the journal: compare it as of the size it covers.
    auto tree_size = StoredTreeSize(*store);
    reader.CheckpointTreeAt(tree_size.ok() ? tree_size->value_or(0) : 0);  // malformed: below
  }
  ChunkQueue queue;
  // No RocksDB perf-context counting on either thread (nothing reads it; it costs a
  // thread-local update per iterator step: journal-only A/B 369k/459k vs 474k/495k entries/s).
  // The caller's thread keeps its own setting afterwards.
  const rocksdb::PerfLevel caller_level = rocksdb::GetPerfLevel();
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  double reader_cpu_seconds = 0;
  std::thread reading([&reader, &queue, &reader_cpu_seconds] {
    pthread_setname_np(pthread_self(), "lb-audit-read");  // for top and perf
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
    for (;;) {
      Chunk chunk = reader.Fill(queue.Spare());
      const bool last = chunk.last;
      queue.Push(std::move(chunk));
      if (last) break;
    }
    reader_cpu_seconds = ThreadCpuSeconds();
  });
  const double replay_cpu_start = ThreadCpuSeconds();
  absl::Status status;
  std::uint64_t replayed = 0;
  for (;;) {
    Chunk chunk = queue.Pop();
    // Accounts are loaded in two steps ahead of their use (PrefetchAccountSlots).
    constexpr std::size_t kSlotsAhead = 16;
    constexpr std::size_t kAccountsAhead = 8;
    const std::size_t count = chunk.items.size();
    auto slots_ahead = [&chunk, &state](std::size_t i) {
      if (chunk.items[i].entry != nullptr) {
        chunk.items[i].hints = PrefetchAccountSlots(*chunk.items[i].entry, state);
      }
    };
    for (std::size_t i = 0; i < std::min(kSlotsAhead, count); ++i) slots_ahead(i);
    for (std::size_t i = 0; i < std::min(kAccountsAhead, count); ++i) {
      PrefetchAccounts(chunk.items[i].hints, state);
    }
    for (std::size_t i = 0; i < count; ++i) {
      Parsed& parsed = chunk.items[i];
      FinishParsed(chunk, parsed);
      if (i + kSlotsAhead < count) slots_ahead(i + kSlotsAhead);
      if (i + kAccountsAhead < count) {
        PrefetchAccounts(chunk.items[i + kAccountsAhead].hints, state);
      }
      for (Finding& finding : parsed.findings) {
        findings.Add(finding.kind, finding.seq, std::move(finding.where),
                     std::move(finding.expected), std::move(finding.found));
      }
      if (parsed.entry != nullptr) {
        RememberAccounts(parsed.hints, state);
        ReplayEntry(*parsed.entry, parsed.fingerprint, state, findings);
      }
      if (options.progress && (++replayed & 0xFFFF) == 0) options.progress(replayed);
    }
    if (!chunk.status.ok()) status = chunk.status;
    if (chunk.last) break;
    queue.Recycle(std::move(chunk));
  }
  queue.Close();
  report.replay_cpu_seconds = ThreadCpuSeconds() - replay_cpu_start;
  reading.join();
  report.reader_cpu_seconds = reader_cpu_seconds;
  rocksdb::SetPerfLevel(caller_level);
  LOVEBANK_RETURN_IF_ERROR(status);
  report.entries = reader.entries();
  reader.Finish(findings, state.head);
  FinishReplay(state);

  const Digest claimed = source.claimed_head();
  if (claimed.seq != state.head.seq || claimed.hash != state.head.hash) {
    findings.Add(FindingKind::kHeadMismatch, state.head.seq, "claimed head",
                 Cat(state.head.seq, ":", HashToHex(state.head.hash)),
                 Cat(claimed.seq, ":", HashToHex(claimed.hash)));
  }
  report.tree_size = reader.tree().size();
  report.tree_root = reader.tree().Root();
  if (auto newest = reader.recent().At(report.tree_size)) {
    report.head_time_unix_us = newest->time_unix_us;
  }
  if (store != nullptr) {
    LOVEBANK_RETURN_IF_ERROR(CompareStore(*store, state, findings));
    LOVEBANK_RETURN_IF_ERROR(CompareTree(*store, reader.tree(), findings));
    report.store_compared = true;
  }
  pass.needs_exact = state.needs_exact;
  report.head = state.head;
  report.findings = std::move(findings.kept);
  report.findings_total = findings.total;
  AddTotals(state, report);
  return pass;
}

}  // namespace

absl::StatusOr<Report> Run(JournalSource& source, Store* store, const Options& options) {
  if (store != nullptr) {
    // Derived records of another store format would all read as findings: refuse instead (the
    // journal of such a store still audits, through an export).
    LOVEBANK_ASSIGN_OR_RETURN(auto version, store->Get(Family::kMeta, meta_key::kFormatVersion));
    if (version.has_value() &&
        (version->size() != 4 || GetFixed32BE(version->data()) != kStoreFormatVersion)) {
      return absl::FailedPreconditionError(Cat(
          "the store has format version ",
          version->size() == 4 ? std::to_string(GetFixed32BE(version->data())) : "(undecodable)",
          "; this audit compares the records of version ", kStoreFormatVersion,
          " (its journal still audits: lovebank-audit export --db DIR --out F, then lovebank-audit "
          "--file F)"));
    }
  }
  // The fast pass needs a way to read the journal a second time when it must name a finding
  // exactly: the store, or a reopen function. Without either, the one pass is exact.
  const bool can_reread = store != nullptr || static_cast<bool>(options.reopen);
  if (!can_reread) {
    LOVEBANK_ASSIGN_OR_RETURN(Pass pass,
                              RunPass(source, store, options, ReplayState::Mode::kExact));
    return std::move(pass.report);
  }
  LOVEBANK_ASSIGN_OR_RETURN(Pass fast, RunPass(source, store, options, ReplayState::Mode::kFast));
  if (!fast.needs_exact) return std::move(fast.report);
  std::unique_ptr<JournalSource> again;
  if (store != nullptr) {
    LOVEBANK_ASSIGN_OR_RETURN(again, StoreSource(*store));
  } else {
    LOVEBANK_ASSIGN_OR_RETURN(again, options.reopen());
  }
  LOVEBANK_ASSIGN_OR_RETURN(Pass exact, RunPass(*again, store, options, ReplayState::Mode::kExact));
  exact.report.passes = 2;
  return std::move(exact.report);
}

}  // namespace lovebank::audit
