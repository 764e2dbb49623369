#include "facegate/enrolment/sealing.hpp"

#include <random>

#include <gtest/gtest.h>
#include <sodium.h>

namespace facegate::enrolment {
namespace {

face::Embedding randomEmbedding(unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> component(0.0F, 0.09F);  // the spread of dlib's components
  face::Embedding e;
  for (auto& v : e.values()) {
    v = component(rng);
  }
  return e;
}

badge::BadgeSecret randomSecret() {
  badge::BadgeSecret s;
  randombytes_buf(s->data(), s->size());
  return s;
}

TEST(SealedTemplate, RoundTripIsExact) {
  const auto templ = randomEmbedding(1);
  const auto secret = randomSecret();
  const auto sealed = sealTemplate(templ, secret, 0x1234);
  EXPECT_EQ(sealed.ciphertext.size(), 128 * 4 + kTagSize);
  auto opened = unsealTemplate(sealed, secret, 0x1234);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(face::distance(*opened, templ), 0.0);
}

TEST(SealedTemplate, CiphertextDoesNotContainThePlainTemplate) {
  const auto templ = randomEmbedding(2);
  const auto sealed = sealTemplate(templ, randomSecret(), 7);
  const auto* plain = reinterpret_cast<const std::uint8_t*>(templ.values().data());
  const std::vector<std::uint8_t> firstFloats(plain, plain + 16);
  EXPECT_EQ(std::search(sealed.ciphertext.begin(), sealed.ciphertext.end(), firstFloats.begin(),
                        firstFloats.end()),
            sealed.ciphertext.end());
}

TEST(SealedTemplate, SealingTwiceGivesDifferentBlobs) {
  const auto templ = randomEmbedding(3);
  const auto secret = randomSecret();
  const auto a = sealTemplate(templ, secret, 7);
  const auto b = sealTemplate(templ, secret, 7);
  EXPECT_NE(a.nonce, b.nonce);
  EXPECT_NE(a.ciphertext, b.ciphertext);
}

TEST(SealedTemplate, WrongSecretFails) {
  const auto sealed = sealTemplate(randomEmbedding(4), randomSecret(), 7);
  const auto opened = unsealTemplate(sealed, randomSecret(), 7);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::CryptoFailure);
}

TEST(SealedTemplate, RowMovedToAnotherBadgeFails) {
  // Same secret on purpose: only the serial in the associated data differs.
  const auto secret = randomSecret();
  const auto sealed = sealTemplate(randomEmbedding(5), secret, 1001);
  EXPECT_FALSE(unsealTemplate(sealed, secret, 1002));
}

TEST(SealedTemplate, EveryFlippedByteFails) {
  const auto secret = randomSecret();
  const auto sealed = sealTemplate(randomEmbedding(6), secret, 9);
  for (std::size_t i = 0; i < sealed.ciphertext.size(); ++i) {
    auto tampered = sealed;
    tampered.ciphertext[i] ^= 0x01;
    EXPECT_FALSE(unsealTemplate(tampered, secret, 9)) << "byte " << i;
  }
  for (std::size_t i = 0; i < sealed.nonce.size(); ++i) {
    auto tampered = sealed;
    tampered.nonce[i] ^= 0x80;
    EXPECT_FALSE(unsealTemplate(tampered, secret, 9)) << "nonce byte " << i;
  }
  auto truncated = sealed;
  truncated.ciphertext.pop_back();
  EXPECT_FALSE(unsealTemplate(truncated, secret, 9));
  auto otherVersion = sealed;
  otherVersion.version = 2;
  EXPECT_FALSE(unsealTemplate(otherVersion, secret, 9));
}

TEST(OnBadgeTemplate, RoundTripWithinQuantisation) {
  const auto templ = randomEmbedding(7);
  const auto key = badge::TemplateKey::generate();
  const auto blob = sealForBadge(templ, key, 55);
  ASSERT_EQ(blob.size(), badge::kOnBadgeTemplateSize);
  auto opened = unsealFromBadge(blob, key, 55);
  ASSERT_TRUE(opened) << opened.error().message;
  for (std::size_t i = 0; i < face::kEmbeddingSize; ++i) {
    EXPECT_NEAR(opened->values()[i], templ.values()[i], kQuantStep / 2 + 1e-7);
  }
  EXPECT_EQ(face::distance(*opened, quantiseRoundTrip(templ)), 0.0);
}

TEST(OnBadgeTemplate, WrongKeySerialOrBytesFail) {
  const auto templ = randomEmbedding(8);
  const auto key = badge::TemplateKey::generate();
  const auto blob = sealForBadge(templ, key, 55);
  EXPECT_FALSE(unsealFromBadge(blob, badge::TemplateKey::generate(), 55));
  EXPECT_FALSE(unsealFromBadge(blob, key, 56));
  for (std::size_t i = 0; i < blob.size(); ++i) {
    auto tampered = blob;
    tampered[i] ^= 0x04;
    EXPECT_FALSE(unsealFromBadge(tampered, key, 55)) << "byte " << i;
  }
  EXPECT_FALSE(unsealFromBadge(std::span(blob).first(blob.size() - 1), key, 55));
}

TEST(OnBadgeTemplate, OutOfRangeComponentsSaturate) {
  face::Embedding big;
  big.values()[0] = 3.0F;
  big.values()[1] = -3.0F;
  const auto q = quantiseRoundTrip(big);
  EXPECT_FLOAT_EQ(q.values()[0], 127 * kQuantStep);
  EXPECT_FLOAT_EQ(q.values()[1], -127 * kQuantStep);
}

}  // namespace
}  // namespace facegate::enrolment
