#include "facegate/enrolment/sealing.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include <sodium.h>

#include "facegate/core/secure_memory.hpp"

namespace facegate::enrolment {
namespace {

static_assert(kNonceSize == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(kTagSize == crypto_aead_xchacha20poly1305_ietf_ABYTES);
static_assert(badge::kOnBadgeTemplateSize == kNonceSize + face::kEmbeddingSize + kTagSize);
static_assert(std::endian::native == std::endian::little, "templates are stored little-endian");

constexpr char kSealContext[crypto_kdf_CONTEXTBYTES + 1] = "fgtmpl01";
constexpr std::size_t kFloatBytes = face::kEmbeddingSize * sizeof(float);

using Key = SecureBox<std::array<std::uint8_t, crypto_aead_xchacha20poly1305_ietf_KEYBYTES>>;

// Associated data: what the blob is bound to.
std::array<std::uint8_t, 19> associatedData(char kind, std::uint16_t version,
                                            std::uint64_t serial) {
  std::array<std::uint8_t, 19> ad{
      'f', 'g', '-', 't', 'm', 'p', 'l', '-', static_cast<std::uint8_t>(kind)};
  ad[9] = static_cast<std::uint8_t>(version >> 8);
  ad[10] = static_cast<std::uint8_t>(version & 0xff);
  for (std::size_t i = 0; i < 8; ++i) {
    ad[11 + i] = static_cast<std::uint8_t>(serial >> (56 - 8 * i));
  }
  return ad;
}

Key deriveKey(const badge::BadgeSecret& secret, std::uint16_t version) {
  ensureSodium();
  Key key;
  crypto_kdf_derive_from_key(key->data(), key->size(), version, kSealContext, secret->data());
  return key;
}

}  // namespace

SealedTemplate sealTemplate(const face::Embedding& embedding, const badge::BadgeSecret& secret,
                            std::uint64_t serial) {
  const Key key = deriveKey(secret, kTemplateVersion);
  SealedTemplate out;
  randombytes_buf(out.nonce.data(), out.nonce.size());
  const auto ad = associatedData('s', kTemplateVersion, serial);
  out.ciphertext.resize(kFloatBytes + kTagSize);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      out.ciphertext.data(), &written,
      reinterpret_cast<const unsigned char*>(embedding.values().data()), kFloatBytes, ad.data(),
      ad.size(), nullptr, out.nonce.data(), key->data());
  return out;
}

Result<face::Embedding> unsealTemplate(const SealedTemplate& sealed,
                                       const badge::BadgeSecret& secret, std::uint64_t serial) {
  if (sealed.version != kTemplateVersion) {
    return fail(ErrorCode::CryptoFailure, "the stored template has an unknown version");
  }
  if (sealed.ciphertext.size() != kFloatBytes + kTagSize) {
    return fail(ErrorCode::CryptoFailure, "the stored template has the wrong size");
  }
  const Key key = deriveKey(secret, sealed.version);
  const auto ad = associatedData('s', sealed.version, serial);
  face::Embedding out;  // decrypted straight into locked memory
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(out.values().data()), &written, nullptr,
          sealed.ciphertext.data(), sealed.ciphertext.size(), ad.data(), ad.size(),
          sealed.nonce.data(), key->data()) != 0) {
    return fail(ErrorCode::CryptoFailure,
                "the stored template does not open with this badge (wrong badge, or the record "
                "was altered or moved)");
  }
  return out;
}

namespace {

std::int8_t quantise(float v) {
  const float q = std::round(v / kQuantStep);
  return static_cast<std::int8_t>(std::clamp(q, -127.0F, 127.0F));
}

}  // namespace

face::Embedding quantiseRoundTrip(const face::Embedding& embedding) {
  face::Embedding out;
  for (std::size_t i = 0; i < face::kEmbeddingSize; ++i) {
    out.values()[i] = static_cast<float>(quantise(embedding.values()[i])) * kQuantStep;
  }
  return out;
}

std::vector<std::uint8_t> sealForBadge(const face::Embedding& embedding,
                                       const badge::TemplateKey& key, std::uint64_t serial) {
  ensureSodium();
  SecureBox<std::array<std::int8_t, face::kEmbeddingSize>> quantised;
  for (std::size_t i = 0; i < face::kEmbeddingSize; ++i) {
    (*quantised)[i] = quantise(embedding.values()[i]);
  }
  std::vector<std::uint8_t> blob(badge::kOnBadgeTemplateSize);
  randombytes_buf(blob.data(), kNonceSize);
  const auto ad = associatedData('b', kTemplateVersion, serial);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      blob.data() + kNonceSize, &written, reinterpret_cast<const unsigned char*>(quantised->data()),
      face::kEmbeddingSize, ad.data(), ad.size(), nullptr, blob.data(), key.data());
  return blob;
}

Result<face::Embedding> unsealFromBadge(std::span<const std::uint8_t> blob,
                                        const badge::TemplateKey& key, std::uint64_t serial) {
  if (blob.size() != badge::kOnBadgeTemplateSize) {
    return fail(ErrorCode::CryptoFailure, "the badge's template has the wrong size");
  }
  ensureSodium();
  SecureBox<std::array<std::int8_t, face::kEmbeddingSize>> quantised;
  const auto ad = associatedData('b', kTemplateVersion, serial);
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(quantised->data()), &written, nullptr,
          blob.data() + kNonceSize, blob.size() - kNonceSize, ad.data(), ad.size(), blob.data(),
          key.data()) != 0) {
    return fail(ErrorCode::CryptoFailure,
                "the badge's template does not open with this gate's template key");
  }
  face::Embedding out;
  for (std::size_t i = 0; i < face::kEmbeddingSize; ++i) {
    out.values()[i] = static_cast<float>((*quantised)[i]) * kQuantStep;
  }
  return out;
}

}  // namespace facegate::enrolment
