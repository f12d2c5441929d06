// The canonical journal-entry decoder (entry_decoder.h). The protobuf wire format: a message is
// a run of fields, each a varint tag (field number << 3 | wire type) and a value — a varint
// (type 0) or a varint length and that many bytes (type 2: strings and embedded messages).

#include "ledger/audit/entry_decoder.h"

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <type_traits>

#include "google/protobuf/stubs/common.h"

namespace lovebank::audit {
namespace {

constexpr int kVarint = 0;
constexpr int kLengthDelimited = 2;

// Proto3 string semantics: the bytes must be UTF-8. ASCII (the ids, codes and amounts that make
// up most of an entry) is settled eight bytes at a time; anything else goes to protobuf's own
// validator, so that both paths accept exactly the same strings.
bool IsUtf8(std::string_view text) {
  const char* p = text.data();
  const char* const end = p + text.size();
  for (; end - p >= 8; p += 8) {
    std::uint64_t word;
    std::memcpy(&word, p, sizeof(word));
    if ((word & 0x8080808080808080ULL) != 0) {
      return google::protobuf::internal::IsStructurallyValidUTF8(text.data(),
                                                                 static_cast<int>(text.size()));
    }
  }
  for (; p < end; ++p) {
    if ((static_cast<unsigned char>(*p) & 0x80) != 0) {
      return google::protobuf::internal::IsStructurallyValidUTF8(text.data(),
                                                                 static_cast<int>(text.size()));
    }
  }
  return true;
}

// Reads the fields of one message in canonical form. Every accessor returns false on anything
// non-canonical; the caller then gives up on the whole payload.
class Fields {
 public:
  explicit Fields(std::string_view bytes) : p_(bytes.data()), end_(bytes.data() + bytes.size()) {}

  bool done() const { return p_ == end_; }

  // The next field's number and wire type. Numbers must rise; `repeated` names the one field
  // that may follow itself.
  bool Next(std::uint32_t* number, int* type, std::uint32_t repeated = 0) {
    std::uint64_t tag = 0;
    if (!Varint(&tag) || tag > 0xFFFFFFFFu) return false;
    *number = static_cast<std::uint32_t>(tag >> 3);
    *type = static_cast<int>(tag & 7);
    if (*number < last_ || (*number == last_ && *number != repeated)) return false;
    last_ = *number;
    return *number != 0;
  }

  // A varint field's value: minimal and not zero (proto3 does not write a zero).
  bool NonZero(int type, std::uint64_t* value) {
    return type == kVarint && Varint(value) && *value != 0;
  }

  // A length-delimited field's bytes.
  bool Bytes(int type, std::string_view* bytes) {
    std::uint64_t length = 0;
    if (type != kLengthDelimited || !Varint(&length)) return false;
    if (length > static_cast<std::uint64_t>(end_ - p_)) return false;
    *bytes = std::string_view(p_, static_cast<std::size_t>(length));
    p_ += length;
    return true;
  }

  // A string field's text: not empty (proto3 does not write one) and UTF-8.
  bool Text(int type, std::string_view* text) {
    return Bytes(type, text) && !text->empty() && IsUtf8(*text);
  }

 private:
  // At most ten bytes, nothing past 64 bits, no redundant high zero group.
  bool Varint(std::uint64_t* value) {
    std::uint64_t result = 0;
    for (int shift = 0; shift < 64 && p_ < end_; shift += 7) {
      const auto byte = static_cast<std::uint8_t>(*p_++);
      if (shift == 63 && byte > 1) return false;
      result |= static_cast<std::uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) {
        if (byte == 0 && shift != 0) return false;
        *value = result;
        return true;
      }
    }
    return false;
  }

  const char* p_;
  const char* const end_;
  std::uint32_t last_ = 0;
};

// A string field's accessor, by field number from 1 (null: not a string field).
template <class Message>
using MutableText = std::string* (Message::*)();

// Decodes one message: string fields through `texts`, any other field through `other(fields,
// number, type)`, which returns false for a field it does not take. A string field the bytes do
// not hold is emptied (the message may be a reused one); `other` sees to the rest.
template <class Message, class Other>
bool DecodeFields(std::string_view bytes, Message* message,
                  std::type_identity_t<std::initializer_list<MutableText<Message>>> texts,
                  Other other) {
  Fields fields(bytes);
  std::uint32_t seen = 0;  // bit n - 1: string field n was read
  while (!fields.done()) {
    std::uint32_t number = 0;
    int type = 0;
    if (!fields.Next(&number, &type)) return false;
    if (number <= texts.size() && texts.begin()[number - 1] != nullptr) {
      std::string_view text;
      if (!fields.Text(type, &text)) return false;
      (message->*texts.begin()[number - 1])()->assign(text.data(), text.size());
      seen |= 1u << (number - 1);
    } else if (!other(fields, number, type)) {
      return false;
    }
  }
  for (std::size_t i = 0; i < texts.size(); ++i) {
    if (texts.begin()[i] != nullptr && (seen & (1u << i)) == 0) {
      (message->*texts.begin()[i])()->clear();
    }
  }
  return true;
}

constexpr auto kNoOther = [](Fields&, std::uint32_t, int) { return false; };

// A message is reused from entry to entry (its strings keep their capacity), so each Decode*
// below leaves every field the bytes do not write at its default: DecodeFields empties the
// strings, and each function the rest.
bool DecodeMove(std::string_view bytes, v1::Move* move) {
  using M = v1::Move;
  bool has_activity = false;
  const bool decoded =
      DecodeFields(bytes, move,
                   {&M::mutable_from, &M::mutable_to, &M::mutable_asset, &M::mutable_amount,
                    nullptr, &M::mutable_reason},
                   [move, &has_activity](Fields& fields, std::uint32_t number, int type) {
                     using A = v1::Activity;
                     std::string_view activity;
                     if (number != M::kActivityFieldNumber || !fields.Bytes(type, &activity))
                       return false;
                     has_activity = true;
                     return DecodeFields(activity, move->mutable_activity(),
                                         {&A::mutable_name, &A::mutable_date, &A::mutable_place,
                                          &A::mutable_team, &A::mutable_category, &A::mutable_id},
                                         kNoOther);
                   });
  if (!has_activity && move->has_activity()) move->clear_activity();
  return decoded;
}

// The Move of a command body field, or null for a field that is not a Move body.
v1::Move* MoveBody(std::uint32_t number, v1::Command* command) {
  switch (number) {
    case v1::Command::kEarnFieldNumber:
      return command->mutable_earn();
    case v1::Command::kDeductFieldNumber:
      return command->mutable_deduct();
    case v1::Command::kRedeemFieldNumber:
      return command->mutable_redeem();
    case v1::Command::kTransferFieldNumber:
      return command->mutable_transfer();
    case v1::Command::kReceiveStockFieldNumber:
      return command->mutable_receive_stock();
    case v1::Command::kWriteOffStockFieldNumber:
      return command->mutable_write_off_stock();
    case v1::Command::kSettleFieldNumber:
      return command->mutable_settle();
    default:
      return nullptr;
  }
}

bool DecodeReverse(std::string_view bytes, v1::Reverse* reverse) {
  reverse->Clear();
  return DecodeFields(bytes, reverse, {},
                      [reverse](Fields& fields, std::uint32_t number, int type) {
                        std::uint64_t seq = 0;
                        if (number != v1::Reverse::kSeqFieldNumber || !fields.NonZero(type, &seq))
                          return false;
                        reverse->set_seq(seq);
                        return true;
                      });
}

bool DecodeCommand(std::string_view bytes, v1::Command* command) {
  using C = v1::Command;
  // The body is kept when the next entry has the same kind (most do): Clear() would free it.
  bool has_body = false;  // a oneof: a second body would replace the first in protobuf's parse
  const bool decoded =
      DecodeFields(bytes, command, {&C::mutable_request_id, &C::mutable_actor, &C::mutable_memo},
                   [command, &has_body](Fields& fields, std::uint32_t number, int type) {
                     std::string_view body;
                     if (has_body || !fields.Bytes(type, &body)) return false;
                     has_body = true;
                     if (number == C::kReverseFieldNumber)
                       return DecodeReverse(body, command->mutable_reverse());
                     v1::Move* move = MoveBody(number, command);
                     return move != nullptr && DecodeMove(body, move);
                   });
  if (!has_body) command->clear_body();
  return decoded;
}

bool DecodePosting(std::string_view bytes, v1::Posting* posting) {
  using P = v1::Posting;
  return DecodeFields(bytes, posting,
                      {&P::mutable_account, &P::mutable_asset, &P::mutable_amount_minor}, kNoOther);
}

}  // namespace

bool DecodeCanonicalEntry(std::string_view payload, v1::Entry* entry,
                          std::string_view* command_bytes) {
  *command_bytes = std::string_view();
  // Only this decoder fills a reused message, so it never holds what it cannot decode; cheap
  // insurance should that ever change.
  if (entry->has_pricing() || entry->has_award()) entry->Clear();
  entry->set_seq(0);
  entry->set_time_unix_us(0);
  int postings = 0;  // the postings decoded so far: the message's first ones are reused
  bool has_command = false;
  Fields fields(payload);
  while (!fields.done()) {
    std::uint32_t number = 0;
    int type = 0;
    if (!fields.Next(&number, &type, v1::Entry::kPostingsFieldNumber)) return false;
    std::uint64_t value = 0;
    std::string_view bytes;
    switch (number) {
      case v1::Entry::kSeqFieldNumber:
        if (!fields.NonZero(type, &value)) return false;
        entry->set_seq(value);
        break;
      case v1::Entry::kTimeUnixUsFieldNumber:
        if (!fields.NonZero(type, &value)) return false;
        entry->set_time_unix_us(static_cast<std::int64_t>(value));
        break;
      case v1::Entry::kCommandFieldNumber:
        if (!fields.Bytes(type, &bytes) || !DecodeCommand(bytes, entry->mutable_command())) {
          return false;
        }
        *command_bytes = bytes;
        has_command = true;
        break;
      case v1::Entry::kPostingsFieldNumber:
        if (!fields.Bytes(type, &bytes) ||
            !DecodePosting(bytes, postings < entry->postings_size()
                                      ? entry->mutable_postings(postings)
                                      : entry->add_postings())) {
          return false;
        }
        ++postings;
        break;
      default:
        return false;
    }
  }
  if (!has_command && entry->has_command()) entry->clear_command();
  while (entry->postings_size() > postings) entry->mutable_postings()->RemoveLast();
  return true;
}

}  // namespace lovebank::audit
