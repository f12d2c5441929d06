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

grpc::ServerUnaryReactor* AuditService::GetSignedHead(grpc::CallbackServerContext* ctx,
                                                      const v1::GetSignedHeadRequest* request,
                                                      v1::SignedTreeHead* response) {
  auto* call = new UnaryCall(context_, ctx, "GetSignedHead", "");
  if (call->Authenticate() == nullptr) return call;
  const std::uint64_t size =
      request->tree_size() == 0 ? context_.ledger->GetHead().seq : request->tree_size();
  auto head = SignedHead(context_, size);
  if (head.ok()) *response = std::move(*head);
  call->Done(ToStatus(head.status()), size);
  return call;
}

grpc::ServerUnaryReactor* AuditService::GetInclusionProof(
    grpc::CallbackServerContext* ctx, const v1::GetInclusionProofRequest* request,
    v1::InclusionProof* response) {
  auto* call = new UnaryCall(context_, ctx, "GetInclusionProof", "");
  auto who = call->Authenticate();
  if (who == nullptr) return call;
  const std::uint64_t size =
      request->tree_size() == 0 ? context_.ledger->GetHead().seq : request->tree_size();
  // As GetEntry: no principal learns whether an entry it may not see exists.
  auto stored = context_.ledger->GetEntry(request->seq());
  if (absl::Status shown = EntryShownTo(*who, stored); !shown.ok()) {
    call->Done(ToStatus(shown));
    return call;
  }
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

grpc::ServerUnaryReactor* AuditService::GetConsistencyProof(
    grpc::CallbackServerContext* ctx, const v1::GetConsistencyProofRequest* request,
    v1::ConsistencyProof* response) {
  auto* call = new UnaryCall(context_, ctx, "GetConsistencyProof", "");
  if (call->Authenticate() == nullptr) return call;
  const std::uint64_t second =
      request->second_size() == 0 ? context_.ledger->GetHead().seq : request->second_size();
  auto path = context_.ledger->ConsistencyProof(request->first_size(), second);
  if (!path.ok()) {
    call->Done(ToStatus(path.status()));
    return call;
  }
  auto first_head = SignedHead(context_, request->first_size());
  auto second_head = SignedHead(context_, second);
  if (!first_head.ok() || !second_head.ok()) {
    call->Done(ToStatus(!first_head.ok() ? first_head.status() : second_head.status()));
    return call;
  }
  AddPath(*path, response->mutable_path());
  *response->mutable_first() = std::move(*first_head);
  *response->mutable_second() = std::move(*second_head);
  call->Done(grpc::Status::OK, second);
  return call;
}

}  // namespace lovebank::service
