// service/auth.h: tokens and the registry of principals holding them.

#include "service/auth.h"

#include "gtest/gtest.h"

namespace lovebank::service {
namespace {

v1::PrincipalRecord Record(const std::string& name, const std::string& token, std::uint64_t granted,
                           std::uint64_t revoked = 0) {
  v1::PrincipalRecord record;
  record.set_principal(name);
  record.set_role(v1::ROLE_TERMINAL);
  record.add_accounts("store:main");
  record.set_token_sha256(TokenSha256(token));
  record.set_granted_seq(granted);
  record.set_revoked_seq(revoked);
  return record;
}

TEST(Tokens, AreRandom256BitHexWithAPrefix) {
  auto first = NewToken();
  auto second = NewToken();
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->size(), 3u + 64u);
  EXPECT_TRUE(first->starts_with("lb_"));
  EXPECT_NE(*first, *second);
  EXPECT_EQ(TokenSha256("abc").size(), 32u);
}

TEST(Principals, GrantsAuthenticateAndRevocationsStopAtOnce) {
  Principals principals;
  principals.Load({Record("old", "lb_old", 3), Record("gone", "lb_gone", 4, 5)});
  EXPECT_EQ(principals.size(), 1u);  // the revoked one is not loaded
  EXPECT_EQ(principals.Authenticate("Bearer lb_old").principal->name, "old");
  EXPECT_EQ(principals.Authenticate("bearer lb_old").reason, Reason::kOk);  // scheme any case
  EXPECT_EQ(principals.Authenticate("Bearer lb_gone").reason, Reason::kTokenUnknown);
  EXPECT_EQ(principals.Authenticate("").reason, Reason::kTokenMissing);
  EXPECT_EQ(principals.Authenticate("Basic lb_old").reason, Reason::kTokenMissing);
  EXPECT_EQ(principals.Authenticate("Bearer ").reason, Reason::kTokenMissing);

  principals.Put(Record("till-2", "lb_new", 9));
  const Authentication till = principals.Authenticate("Bearer lb_new");
  ASSERT_EQ(till.reason, Reason::kOk);
  EXPECT_EQ(till.principal->role, v1::ROLE_TERMINAL);
  EXPECT_TRUE(till.principal->IsBound("store:main"));
  EXPECT_FALSE(till.principal->IsBound("m1"));
  EXPECT_TRUE(till.principal->record.token_sha256().empty());  // never handed out

  principals.Put(Record("till-2", "lb_new", 9, 12));  // revoked
  EXPECT_EQ(principals.Authenticate("Bearer lb_new").reason, Reason::kTokenUnknown);
  EXPECT_EQ(principals.size(), 1u);
}

}  // namespace
}  // namespace lovebank::service

namespace lovebank::service {
namespace {

// The registry's key comparison (CRYPTO_memcmp): equal only for the same bytes, whatever byte
// differs and whatever the lengths; a token's hash never compares equal to a prefix of another.
TEST(ConstantTimeEqual, ComparesEveryByte) {
  const ConstantTimeEqual equal;
  const std::string hash = TokenSha256("lb_token");
  EXPECT_TRUE(equal(hash, TokenSha256("lb_token")));
  for (std::size_t i = 0; i < hash.size(); ++i) {
    std::string other = hash;
    other[i] = static_cast<char>(other[i] ^ 0x01);
    EXPECT_FALSE(equal(hash, other)) << i;
  }
  EXPECT_FALSE(equal(hash, hash.substr(0, 31)));
  EXPECT_FALSE(equal(hash.substr(0, 31), hash));
  EXPECT_TRUE(equal("", ""));
}

}  // namespace
}  // namespace lovebank::service
