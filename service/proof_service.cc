// Audit.GetSignedHead, GetInclusionProof and GetConsistencyProof (issue #27; docs/proofs.md):
// the ledger's Merkle tree, signed with its key, for anyone who holds a token; inclusion proofs
// only for entries the caller may read.

#include "ledger/base/check.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"
#include "service/convert.h"
#include "service/services.h"

namespace lovebank::service {
namespace {

std::string HexOf(const unsigned char* bytes, std::size_t size) {
  return ToHex(std::string_view(reinterpret_cast<const char*>(bytes), size));
}

void AddPath(const std::vector<Hash>& path, google::protobuf::RepeatedPtrField<std::string>* out) {
  for (const Hash& hash : path) *out->Add() = HashToHex(hash);
}

// A head of a past size states when its last entry was made: the journal's timeline is for
// those who read all of it (as GetDigest). Others get the head, or what a past size proves
// without its head (a consistency path).
bool ReadsPastHeads(const Principal& who) {
  return who.role == v1::ROLE_ADMIN || who.role == v1::ROLE_AUDITOR;
}

// The size asked (0: the head), or a refusal for a past size `who` may not ask.
absl::StatusOr<std::uint64_t> SizeFor(const Principal& who, std::uint64_t asked,
                                      std::uint64_t head) {
  if (asked == 0 || asked == head) return head;
  if (!ReadsPastHeads(who)) {
    return RefusedStatus(Reason::kPermissionDenied,
                         "a head of a past size is for auditors and admins: ask for the head (0)");
  }
  return asked;
}

}  // namespace

absl::StatusOr<v1::SignedTreeHead> SignedHead(const Context& context, std::uint64_t tree_size) {
  LOVEBANK_ASSIGN_OR_RETURN(const Hash root, context.ledger->TreeRoot(tree_size));
  LOVEBANK_ASSIGN_OR_RETURN(const std::int64_t time, context.ledger->EntryTime(tree_size));
  signature::TreeHead head;
  head.ledger_id = context.ledger->ledger_id();
  head.tree_size = tree_size;
  head.root = root;
  head.time_unix_us = time;
  // Ed25519 is deterministic: a head of a given size is always the same bytes, whoever asks.
  const signature::Signature signed_bytes = context.signer->Sign(signature::TreeHeadMessage(head));
  v1::SignedTreeHead out;
  out.set_ledger_id(ToHex(head.ledger_id));
  out.set_tree_size(tree_size);
  out.set_root(HashToHex(root));
  out.set_time_unix_us(time);
  out.set_public_key(signature::PublicKeyHex(context.signer->public_key()));
  out.set_signature(HexOf(signed_bytes.data(), signed_bytes.size()));
  return out;
}

UnaryCall* AuditService::GetSignedHead(CallContext* ctx, const v1::GetSignedHeadRequest* request,
                                       v1::SignedTreeHead* response) {
  auto* call = new UnaryCall(context_, ctx, "GetSignedHead", "");
  auto who = call->Authenticate();
  if (who == nullptr) return call;
  auto size = SizeFor(*who, request->tree_size(), context_.ledger->GetHead().seq);
  if (!size.ok()) {
    call->Done(ToStatus(size.status()));
    return call;
  }
  auto head = SignedHead(context_, *size);
  if (head.ok()) *response = std::move(*head);
  call->Done(ToStatus(head.status()), *size);
  return call;
}

UnaryCall* AuditService::GetInclusionProof(CallContext* ctx,
                                           const v1::GetInclusionProofRequest* request,
                                           v1::InclusionProof* response) {
  auto* call = new UnaryCall(context_, ctx, "GetInclusionProof", "");
  auto who = call->Authenticate();
  if (who == nullptr) return call;
  // As GetEntry: no principal learns whether an entry it may not see exists.
  auto stored = context_.ledger->GetEntry(request->seq());
  if (absl::Status shown = EntryShownTo(*who, stored); !shown.ok()) {
    call->Done(ToStatus(shown));
    return call;
  }
  auto asked = SizeFor(*who, request->tree_size(), context_.ledger->GetHead().seq);
  if (!asked.ok()) {
    call->Done(ToStatus(asked.status()));
    return call;
  }
  const std::uint64_t size = *asked;
  auto path = context_.ledger->InclusionProof(request->seq(), size);
  if (!path.ok()) {
    call->Done(ToStatus(path.status()));
    return call;
  }
  auto head = SignedHead(context_, size);
  if (!head.ok()) {
    call->Done(ToStatus(head.status()));
    return call;
  }
  response->set_seq(request->seq());
  response->set_record(EncodeStoredEntry(stored->hash, stored->prev_hash, stored->payload));
  AddPath(*path, response->mutable_path());
  *response->mutable_head() = std::move(*head);
  call->Done(grpc::Status::OK, request->seq());
  return call;
}

UnaryCall* AuditService::GetConsistencyProof(CallContext* ctx,
                                             const v1::GetConsistencyProofRequest* request,
                                             v1::ConsistencyProof* response) {
  auto* call = new UnaryCall(context_, ctx, "GetConsistencyProof", "");
  auto who = call->Authenticate();
  if (who == nullptr) return call;
  auto asked = SizeFor(*who, request->second_size(), context_.ledger->GetHead().seq);
  if (!asked.ok()) {
    call->Done(ToStatus(asked.status()));
    return call;
  }
  const std::uint64_t second = *asked;
  auto path = context_.ledger->ConsistencyProof(request->first_size(), second);
  if (!path.ok()) {
    call->Done(ToStatus(path.status()));
    return call;
  }
  // The first head only for those who read past heads: the caller holds its own first head (a
  // certificate's), and the path proves it a prefix of the second.
  if (ReadsPastHeads(*who)) {
    auto first_head = SignedHead(context_, request->first_size());
    if (!first_head.ok()) {
      call->Done(ToStatus(first_head.status()));
      return call;
    }
    *response->mutable_first() = std::move(*first_head);
  }
  auto second_head = SignedHead(context_, second);
  if (!second_head.ok()) {
    call->Done(ToStatus(second_head.status()));
    return call;
  }
  AddPath(*path, response->mutable_path());
  *response->mutable_second() = std::move(*second_head);
  call->Done(grpc::Status::OK, second);
  return call;
}

UnaryCall* AuditService::CosignHead(CallContext* ctx, const v1::CosignHeadRequest* request,
                                    v1::Receipt* response) {
  auto* call = new UnaryCall(context_, ctx, "CosignHead", request->request_id());
  auto who = call->Authenticate();
  if (who == nullptr) return call;
  Converted converted = ToCommand(*request, who->name);
  // The head co-signed must be this ledger's: its root and time of that size. The sequencer
  // does not hold the tree, but the tree of every size up to the committed head is fixed, so
  // checking it here decides on what the entry will commit on. Only for auditors (the others
  // are refused by Submit without learning a past root).
  // A size past the committed head is refused here, never left to the sequencer (which decides
  // on a head that includes entries not yet committed, whose tree this check cannot read).
  const std::uint64_t size = request->tree_size();
  const std::uint64_t committed = context_.ledger->GetHead().seq;
  if (converted.ok() && who->role == v1::ROLE_AUDITOR && (size == 0 || size > committed)) {
    converted.reason = Reason::kTreeSizeInvalid;
    converted.message =
        Cat("tree size ", size, " is not a head of this ledger (1..", committed, ")");
  }
  if (converted.ok() && who->role == v1::ROLE_AUDITOR) {
    auto root = context_.ledger->TreeRoot(size);
    auto time = context_.ledger->EntryTime(size);
    if (!root.ok() || !time.ok()) {
      call->Done(ToStatus(!root.ok() ? root.status() : time.status()));
      return call;
    }
    const v1::CosignHead& cosign = converted.command.cosign_head();
    if (cosign.root() != std::string_view(reinterpret_cast<const char*>(root->data()), 32) ||
        cosign.time_unix_us() != *time) {
      converted.reason = Reason::kCosignatureInvalid;
      converted.message = Cat("not this ledger's head of size ", size, ": its ",
                              cosign.time_unix_us() != *time ? "time" : "root", " differs");
    }
  }
  Submit(context_, call, *who, std::move(converted), nullptr, response);
  return call;
}

}  // namespace lovebank::service
