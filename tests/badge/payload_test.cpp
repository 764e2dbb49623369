#include "facegate/badge/payload.hpp"

#include <algorithm>
#include <random>
#include <set>
#include <type_traits>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "facegate/badge/base45.hpp"

namespace facegate::badge {
namespace {

static_assert(!std::is_copy_constructible_v<Badge>, "the badge secret must not be copied");
static_assert(std::is_nothrow_move_constructible_v<Badge>);
static_assert(std::is_nothrow_move_assignable_v<Badge>);

constexpr std::int64_t kNow = 1'725'000'000;  // 2024-08-30
constexpr std::int64_t kYear = std::int64_t{365} * 24 * 3600;

// Offsets from the layout table, for building hostile payloads.
constexpr std::size_t kKindAt = 1;
constexpr std::size_t kKeyIdAt = 2;
constexpr std::size_t kSerialAt = 6;
constexpr std::size_t kIssuedAtOffset = 14;
constexpr std::size_t kExpiresAtOffset = 18;
constexpr std::size_t kPupilIdLengthAt = 22;

std::string hexOf(std::span<const std::uint8_t> bytes) {
  std::string out;
  for (const auto b : bytes) {
    out += fmt::format("{:02x}", b);
  }
  return out;
}

std::vector<std::uint8_t> decode(const std::string& text) {
  auto bytes = base45Decode(text);
  EXPECT_TRUE(bytes) << bytes.error().message;
  return bytes ? *bytes : std::vector<std::uint8_t>{};
}

std::string encode(std::span<const std::uint8_t> bytes) {
  return base45Encode(bytes);
}

// Signs arbitrary bytes the way the school does, to reach the checks after the signature.
std::string signRaw(std::vector<std::uint8_t> unsignedPayload, const SigningKey& key) {
  std::vector<std::uint8_t> message(kBadgeSignatureDomain.begin(), kBadgeSignatureDomain.end());
  message.insert(message.end(), unsignedPayload.begin(), unsignedPayload.end());
  const auto signature = key.sign(message);
  unsignedPayload.insert(unsignedPayload.end(), signature.begin(), signature.end());
  return encode(unsignedPayload);
}

std::vector<std::uint8_t> withoutSignature(std::vector<std::uint8_t> payload) {
  payload.resize(payload.size() - kSignatureSize);
  return payload;
}

void putU32(std::vector<std::uint8_t>& bytes, std::size_t at, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) {
    bytes[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(value >> (24 - 8 * i));
  }
}

class BadgePayload : public ::testing::Test {
 protected:
  SigningKey school_ = SigningKey::generate();
  PublicKey gateKey_ = school_.publicKey();

  static Badge makeBadge(BadgeKind kind, std::string pupilId = "pupil-0042.b_C") {
    Badge badge;
    badge.kind = kind;
    badge.serial = 0x0123'4567'89ab'cdefULL;
    badge.pupilId = std::move(pupilId);
    badge.issuedAt = kNow - 3600;
    badge.expiresAt = kNow + kYear;
    if (kind == BadgeKind::Sealed) {
      badge.secret.emplace();
      for (std::size_t i = 0; i < kBadgeSecretSize; ++i) {
        (**badge.secret)[i] = static_cast<std::uint8_t>(0xa0 + i);
      }
    }
    if (kind == BadgeKind::OnBadge) {
      badge.onBadgeTemplate.resize(kOnBadgeTemplateSize);
      for (std::size_t i = 0; i < kOnBadgeTemplateSize; ++i) {
        badge.onBadgeTemplate[i] = static_cast<std::uint8_t>(i * 7);
      }
    }
    return badge;
  }

  std::string encoded(const Badge& badge) const {
    auto text = encodeBadge(badge, school_);
    EXPECT_TRUE(text) << text.error().message;
    return text ? *text : std::string{};
  }

  BadgeRejection rejection(std::string_view text, std::int64_t now = kNow) const {
    const auto parsed = parseBadge(text, gateKey_, now);
    if (parsed) {
      ADD_FAILURE() << "accepted: " << text.substr(0, 80);
      return BadgeRejection::Empty;
    }
    EXPECT_FALSE(parsed.error().message.empty());
    EXPECT_EQ(parsed.error().message.find('\n'), std::string::npos) << "one line";
    return parsed.error().reason;
  }
};

TEST_F(BadgePayload, RoundTripsEveryKind) {
  for (const auto kind : {BadgeKind::Plain, BadgeKind::Sealed, BadgeKind::OnBadge}) {
    const Badge badge = makeBadge(kind);
    const std::string text = encoded(badge);
    EXPECT_TRUE(std::all_of(text.begin(), text.end(), [](char c) {
      return std::string_view("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:").find(c) !=
             std::string_view::npos;
    })) << "QR alphanumeric characters only";

    const auto parsed = parseBadge(text, gateKey_, kNow);
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(parsed->kind, kind);
    EXPECT_EQ(parsed->serial, badge.serial);
    EXPECT_EQ(parsed->pupilId, badge.pupilId);
    EXPECT_EQ(parsed->issuedAt, badge.issuedAt);
    EXPECT_EQ(parsed->expiresAt, badge.expiresAt);
    EXPECT_EQ(parsed->secret.has_value(), kind == BadgeKind::Sealed);
    if (kind == BadgeKind::Sealed) {
      EXPECT_EQ(**parsed->secret, **badge.secret);
    }
    EXPECT_EQ(parsed->onBadgeTemplate, badge.onBadgeTemplate);
  }
}

TEST_F(BadgePayload, TextLengthsStayWithinTheCap) {
  const std::string longId(kMaxPupilIdLength, 'x');
  const std::pair<BadgeKind, std::size_t> longest[] = {
      {BadgeKind::Plain, 179}, {BadgeKind::Sealed, 227}, {BadgeKind::OnBadge, 431}};
  for (const auto& [kind, length] : longest) {
    const std::string text = encoded(makeBadge(kind, longId));
    EXPECT_EQ(text.size(), length) << static_cast<int>(kind);
    EXPECT_LE(text.size(), kMaxPayloadTextLength);
    EXPECT_TRUE(parseBadge(text, gateKey_, kNow));
  }
  EXPECT_TRUE(parseBadge(encoded(makeBadge(BadgeKind::Plain, "A")), gateKey_, kNow));
}

TEST_F(BadgePayload, SerialsAndSecretsAreFresh) {
  std::set<std::uint64_t> serials;
  for (int i = 0; i < 100; ++i) {
    const auto serial = newBadgeSerial();
    EXPECT_NE(serial, 0U);
    serials.insert(serial);
  }
  EXPECT_EQ(serials.size(), 100U);
  EXPECT_NE(*newBadgeSecret(), *newBadgeSecret());
}

TEST_F(BadgePayload, EncodeRejectsBadgesOutsideTheLayout) {
  const auto expectInvalid = [&](const Badge& badge, const std::string& fragment) {
    const auto text = encodeBadge(badge, school_);
    ASSERT_FALSE(text) << fragment;
    EXPECT_EQ(text.error().code, ErrorCode::InvalidArgument);
    EXPECT_NE(text.error().message.find(fragment), std::string::npos) << text.error().message;
  };
  expectInvalid(makeBadge(BadgeKind::Plain, ""), "empty");
  expectInvalid(makeBadge(BadgeKind::Plain, std::string(33, 'a')), "more than 32");
  expectInvalid(makeBadge(BadgeKind::Plain, "jean dupont"), "position 4");
  expectInvalid(makeBadge(BadgeKind::Plain, "\xc3\xa9lodie"), "position 0");
  {
    auto badge = makeBadge(BadgeKind::Plain);
    badge.serial = 0;
    expectInvalid(badge, "serial is 0");
  }
  {
    auto badge = makeBadge(BadgeKind::Plain);
    badge.expiresAt = badge.issuedAt;
    expectInvalid(badge, "no later than");
  }
  {
    auto badge = makeBadge(BadgeKind::Plain);
    badge.issuedAt = -1;
    expectInvalid(badge, "32-bit");
    badge.issuedAt = kNow;
    badge.expiresAt = std::int64_t{1} << 32;
    expectInvalid(badge, "32-bit");
  }
  {
    auto badge = makeBadge(BadgeKind::Plain);
    badge.secret.emplace();
    expectInvalid(badge, "plain badge carries neither");
  }
  {
    auto badge = makeBadge(BadgeKind::Plain);
    badge.onBadgeTemplate.resize(kOnBadgeTemplateSize);
    expectInvalid(badge, "plain badge carries neither");
  }
  {
    auto badge = makeBadge(BadgeKind::Sealed);
    badge.secret.reset();
    expectInvalid(badge, "needs its secret");
  }
  {
    auto badge = makeBadge(BadgeKind::Sealed);
    BadgeSecret taken(std::move(*badge.secret));  // leaves an empty box behind
    expectInvalid(badge, "needs its secret");
  }
  {
    auto badge = makeBadge(BadgeKind::OnBadge);
    badge.onBadgeTemplate.pop_back();
    expectInvalid(badge, "167 bytes, not 168");
    badge.onBadgeTemplate.resize(kOnBadgeTemplateSize);
    badge.secret.emplace();
    expectInvalid(badge, "does not carry a secret");
  }
  {
    auto badge = makeBadge(BadgeKind::Plain);
    badge.kind = static_cast<BadgeKind>(7);
    expectInvalid(badge, "unknown kind 7");
  }
}

TEST_F(BadgePayload, RejectionNamesAreStableKebabCase) {
  EXPECT_EQ(toString(BadgeRejection::BadSignature), "bad-signature");
  EXPECT_EQ(toString(BadgeRejection::OtherSchool), "other-school");
  EXPECT_EQ(toString(BadgeRejection::NotYetValid), "not-yet-valid");
  std::set<std::string_view> names;
  for (int r = 0; r <= static_cast<int>(BadgeRejection::Expired); ++r) {
    const auto name = toString(static_cast<BadgeRejection>(r));
    EXPECT_TRUE(std::all_of(name.begin(), name.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || c == '-' || c == '4' || c == '5';
    })) << name;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), 12U);
}

TEST_F(BadgePayload, ForgedSignature) {
  auto bytes = decode(encoded(makeBadge(BadgeKind::Sealed)));
  bytes[bytes.size() - 5] ^= 0x04;
  EXPECT_EQ(rejection(encode(bytes)), BadgeRejection::BadSignature);
}

TEST_F(BadgePayload, AnotherSchoolsBadge) {
  const auto otherSchool = SigningKey::generate();
  const auto text = encodeBadge(makeBadge(BadgeKind::Sealed), otherSchool);
  ASSERT_TRUE(text);
  EXPECT_EQ(rejection(*text), BadgeRejection::OtherSchool);
  const auto parsed = parseBadge(*text, gateKey_, kNow);
  ASSERT_FALSE(parsed);
  const auto id = keyId(otherSchool.publicKey());
  EXPECT_NE(parsed.error().message.find(hexOf(id)), std::string::npos) << parsed.error().message;

  // The same badge claiming this school's key id: only the signature tells.
  auto bytes = decode(*text);
  const auto ours = keyId(gateKey_);
  std::copy(ours.begin(), ours.end(), bytes.begin() + kKeyIdAt);
  EXPECT_EQ(rejection(encode(bytes)), BadgeRejection::BadSignature);
}

TEST_F(BadgePayload, NoSingleBitFlipIsAccepted) {
  for (const auto kind : {BadgeKind::Plain, BadgeKind::Sealed, BadgeKind::OnBadge}) {
    const auto original = decode(encoded(makeBadge(kind)));
    for (std::size_t bit = 0; bit < original.size() * 8; ++bit) {
      auto bytes = original;
      const std::size_t at = bit / 8;
      bytes[at] ^= static_cast<std::uint8_t>(1U << (bit % 8));
      const auto reason = rejection(encode(bytes));
      // Which check catches it depends only on where the flip is.
      if (at == 0) {
        EXPECT_EQ(reason, BadgeRejection::UnknownVersion) << bit;
      } else if (at == kKindAt) {
        EXPECT_TRUE(reason == BadgeRejection::UnknownKind || reason == BadgeRejection::Truncated ||
                    reason == BadgeRejection::Oversized)
            << bit << ": " << toString(reason);
      } else if (at >= kKeyIdAt && at < kSerialAt) {
        EXPECT_EQ(reason, BadgeRejection::OtherSchool) << bit;
      } else if (at == kPupilIdLengthAt) {
        EXPECT_TRUE(reason == BadgeRejection::Truncated || reason == BadgeRejection::Oversized)
            << bit << ": " << toString(reason);
      } else {
        EXPECT_EQ(reason, BadgeRejection::BadSignature) << bit << ": " << toString(reason);
      }
    }
  }
}

TEST_F(BadgePayload, TruncatedAtEveryLength) {
  for (const auto kind : {BadgeKind::Plain, BadgeKind::Sealed, BadgeKind::OnBadge}) {
    const auto bytes = decode(encoded(makeBadge(kind)));
    EXPECT_EQ(rejection(encode({})), BadgeRejection::Empty);
    for (std::size_t length = 1; length < bytes.size(); ++length) {
      EXPECT_EQ(rejection(encode(std::span(bytes).first(length))), BadgeRejection::Truncated)
          << length;
    }
    // Cutting the text rather than the bytes may also leave a malformed base45 group.
    const std::string text = encoded(makeBadge(kind));
    for (std::size_t length = 1; length < text.size(); ++length) {
      const auto reason = rejection(text.substr(0, length));
      EXPECT_TRUE(reason == BadgeRejection::Truncated || reason == BadgeRejection::NotBase45)
          << length << ": " << toString(reason);
    }
  }
}

TEST_F(BadgePayload, Oversized) {
  const auto bytes = decode(encoded(makeBadge(BadgeKind::Sealed)));
  for (std::size_t extra = 1; extra <= 3; ++extra) {
    auto longer = bytes;
    longer.insert(longer.end(), extra, 0);
    EXPECT_EQ(rejection(encode(longer)), BadgeRejection::Oversized) << extra;
  }
  EXPECT_EQ(rejection(std::string(kMaxPayloadTextLength + 1, '0')), BadgeRejection::TooLong);
  EXPECT_EQ(rejection(std::string(10'000, 'A')), BadgeRejection::TooLong);
  // Exactly at the cap is decoded (and then found to be no badge).
  EXPECT_EQ(rejection(std::string(kMaxPayloadTextLength, '0')), BadgeRejection::UnknownVersion);
}

TEST_F(BadgePayload, WrongVersionAndUnknownKind) {
  const auto bytes = decode(encoded(makeBadge(BadgeKind::Plain)));
  for (const int version : {0, 2, 255}) {
    auto changed = bytes;
    changed[0] = static_cast<std::uint8_t>(version);
    EXPECT_EQ(rejection(encode(changed)), BadgeRejection::UnknownVersion);
  }
  for (const int kind : {3, 4, 255}) {
    auto changed = bytes;
    changed[kKindAt] = static_cast<std::uint8_t>(kind);
    EXPECT_EQ(rejection(encode(changed)), BadgeRejection::UnknownKind);
  }
}

TEST_F(BadgePayload, ValidityWindow) {
  const Badge badge = makeBadge(BadgeKind::Sealed);
  const std::string text = encoded(badge);
  EXPECT_TRUE(parseBadge(text, gateKey_, badge.expiresAt - 1));
  EXPECT_EQ(rejection(text, badge.expiresAt), BadgeRejection::Expired);
  EXPECT_EQ(rejection(text, badge.expiresAt + kYear), BadgeRejection::Expired);

  EXPECT_TRUE(parseBadge(text, gateKey_, badge.issuedAt - kClockSkewToleranceSeconds));
  EXPECT_EQ(rejection(text, badge.issuedAt - kClockSkewToleranceSeconds - 1),
            BadgeRejection::NotYetValid);
  const auto parsed = parseBadge(text, gateKey_, badge.issuedAt - 3600);
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message.find("2024-08-30 05:40:00 UTC"), std::string::npos)
      << parsed.error().message;
}

TEST_F(BadgePayload, SignedButMeaninglessFieldsAreBadFields) {
  const auto base = withoutSignature(decode(encoded(makeBadge(BadgeKind::Plain))));
  {
    auto bytes = base;
    std::fill_n(bytes.begin() + kSerialAt, 8, 0);
    EXPECT_EQ(rejection(signRaw(bytes, school_)), BadgeRejection::BadField);
  }
  for (const std::uint32_t expires :
       {static_cast<std::uint32_t>(kNow - 3600), static_cast<std::uint32_t>(kNow - 7200), 0U}) {
    auto bytes = base;
    putU32(bytes, kExpiresAtOffset, expires);
    EXPECT_EQ(rejection(signRaw(bytes, school_)), BadgeRejection::BadField) << expires;
  }
  const std::vector<std::string> badIds = {"",
                                           std::string(33, 'a'),
                                           std::string(200, 'a'),
                                           "a b",
                                           "a/b",
                                           std::string("a\0b", 3),
                                           "\xff",
                                           "caf\xc3\xa9",
                                           "a\nb"};
  for (const auto& id : badIds) {
    std::vector<std::uint8_t> bytes(base.begin(), base.begin() + kPupilIdLengthAt);
    bytes.push_back(static_cast<std::uint8_t>(id.size()));
    bytes.insert(bytes.end(), id.begin(), id.end());
    const auto parsed = parseBadge(signRaw(bytes, school_), gateKey_, kNow);
    ASSERT_FALSE(parsed) << id.size();
    EXPECT_EQ(parsed.error().reason, BadgeRejection::BadField) << parsed.error().message;
    if (id.size() > 1) {
      EXPECT_EQ(parsed.error().message.find(id), std::string::npos) << "never quoted";
    }
  }
  // A time the validity window would accept does not rescue a bad field.
  auto bytes = base;
  putU32(bytes, kIssuedAtOffset, static_cast<std::uint32_t>(kNow));
  putU32(bytes, kExpiresAtOffset, static_cast<std::uint32_t>(kNow));
  EXPECT_EQ(rejection(signRaw(bytes, school_)), BadgeRejection::BadField);
}

TEST_F(BadgePayload, HostileText) {
  EXPECT_EQ(rejection(""), BadgeRejection::Empty);
  EXPECT_EQ(rejection("https://example.com/badge?id=42"), BadgeRejection::NotBase45);
  EXPECT_EQ(rejection("hello"), BadgeRejection::NotBase45);
  const std::string valid = encoded(makeBadge(BadgeKind::Plain));
  EXPECT_EQ(rejection("\xc3\x89" + valid), BadgeRejection::NotBase45);      // "É"
  EXPECT_EQ(rejection(valid + "\xe2\x82\xac"), BadgeRejection::NotBase45);  // "€"
  EXPECT_EQ(rejection(valid + "\n"), BadgeRejection::NotBase45);
  EXPECT_EQ(rejection(std::string("\0\0\0", 3)), BadgeRejection::NotBase45);
  EXPECT_EQ(rejection("GGW" + valid.substr(3)), BadgeRejection::NotBase45);  // 65536
  EXPECT_EQ(rejection(std::string(10'240, '\xff')), BadgeRejection::TooLong);
}

TEST_F(BadgePayload, RandomBase45IsNeverAccepted) {
  constexpr std::string_view kAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
  std::mt19937 random(2024);
  std::uniform_int_distribution<std::size_t> length(0, kMaxPayloadTextLength + 10);
  std::uniform_int_distribution<std::size_t> pick(0, kAlphabet.size() - 1);
  for (int i = 0; i < 3000; ++i) {
    std::string text(length(random), ' ');
    for (auto& c : text) {
      c = kAlphabet[pick(random)];
    }
    EXPECT_FALSE(parseBadge(text, gateKey_, kNow)) << text;
  }
  // Random bytes behind a valid header reach the signature check and stop there.
  const auto header = decode(encoded(makeBadge(BadgeKind::Sealed)));
  std::uniform_int_distribution<int> byte(0, 255);
  for (int i = 0; i < 300; ++i) {
    std::vector<std::uint8_t> bytes(header.begin(), header.begin() + kPupilIdLengthAt + 1);
    bytes.resize(header.size());
    std::generate(bytes.begin() + kPupilIdLengthAt + 1, bytes.end(),
                  [&] { return static_cast<std::uint8_t>(byte(random)); });
    EXPECT_EQ(rejection(encode(bytes)), BadgeRejection::BadSignature);
  }
}

TEST_F(BadgePayload, MessagesNeverHoldTheSecret) {
  const Badge badge = makeBadge(BadgeKind::Sealed);
  const std::string secretHex = hexOf(**badge.secret);
  const std::string secretRaw((*badge.secret)->begin(), (*badge.secret)->end());
  const std::string text = encoded(badge);
  auto forged = decode(text);
  auto longer = forged;
  longer.insert(longer.end(), {0, 0});
  forged.back() ^= 1;
  const std::vector<std::pair<std::string, std::int64_t>> cases = {
      {text, badge.expiresAt},
      {text, badge.issuedAt - kYear},
      {encode(forged), kNow},
      {encode(longer), kNow},
  };
  for (const auto& [input, now] : cases) {
    const auto parsed = parseBadge(input, gateKey_, now);
    ASSERT_FALSE(parsed);
    const auto& message = parsed.error().message;
    EXPECT_EQ(message.find(secretHex.substr(0, 8)), std::string::npos) << message;
    EXPECT_EQ(message.find(secretRaw.substr(0, 4)), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace facegate::badge
