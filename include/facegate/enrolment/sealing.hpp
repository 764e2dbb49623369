#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "facegate/badge/keys.hpp"
#include "facegate/badge/payload.hpp"
#include "facegate/core/error.hpp"
#include "facegate/face/embedding.hpp"

namespace facegate::enrolment {

// The template format version, bound into every sealed blob. 1 = dlib ResNet v1 embedding
// (dlib_face_recognition_resnet_model_v1.dat), 128 float32 in the database, 128 int8 on a
// badge. A new model means a new version and re-enrolment.
inline constexpr std::uint16_t kTemplateVersion = 1;

inline constexpr std::size_t kNonceSize = 24;  // XChaCha20-Poly1305
inline constexpr std::size_t kTagSize = 16;

// A template sealed for the database (CNIL type 2). The key is derived from the 32-byte
// secret printed in the pupil's badge, which the box never stores; the associated data
// binds the blob to the badge serial and template version, so a row moved to another
// badge, a flipped byte or a wrong secret all fail to open.
struct SealedTemplate {
  std::uint16_t version = kTemplateVersion;
  std::array<std::uint8_t, kNonceSize> nonce{};
  std::vector<std::uint8_t> ciphertext;  // 128 x float32 little-endian + tag = 528 bytes
};

SealedTemplate sealTemplate(const face::Embedding& embedding, const badge::BadgeSecret& secret,
                            std::uint64_t serial);

// CryptoFailure when the secret, serial, version or bytes do not match what was sealed.
Result<face::Embedding> unsealTemplate(const SealedTemplate& sealed,
                                       const badge::BadgeSecret& secret, std::uint64_t serial);

// A template sealed to travel in the badge itself (CNIL type 1): quantised to int8 (step
// 1/256, range +/-0.496; dlib's components stay well inside it) and encrypted under the
// school's template key, which gates and the enrolment desk hold. The badge signature
// prevents swapping it; the associated data binds it to the serial.
// Layout: nonce (24) | ciphertext of 128 int8 (128) | tag (16) = badge::kOnBadgeTemplateSize.
std::vector<std::uint8_t> sealForBadge(const face::Embedding& embedding,
                                       const badge::TemplateKey& key, std::uint64_t serial);
Result<face::Embedding> unsealFromBadge(std::span<const std::uint8_t> blob,
                                        const badge::TemplateKey& key, std::uint64_t serial);

// The quantisation used on badges, exposed so its effect on distances can be measured.
inline constexpr float kQuantStep = 1.0F / 256.0F;
face::Embedding quantiseRoundTrip(const face::Embedding& embedding);

}  // namespace facegate::enrolment
