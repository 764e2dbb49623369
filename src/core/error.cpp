#include "facegate/core/error.hpp"

namespace facegate {

std::string_view toString(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::InvalidArgument: return "invalid-argument";
    case ErrorCode::FileNotFound: return "file-not-found";
    case ErrorCode::FileUnreadable: return "file-unreadable";
    case ErrorCode::ImageUndecodable: return "image-undecodable";
    case ErrorCode::ImageTooSmall: return "image-too-small";
    case ErrorCode::ImageTooLarge: return "image-too-large";
    case ErrorCode::NoFace: return "no-face";
    case ErrorCode::ModelMissing: return "model-missing";
    case ErrorCode::ModelCorrupt: return "model-corrupt";
    case ErrorCode::StorageFailure: return "storage-failure";
    case ErrorCode::StorageCorrupt: return "storage-corrupt";
    case ErrorCode::SchemaMismatch: return "schema-mismatch";
    case ErrorCode::NotFound: return "not-found";
    case ErrorCode::AlreadyExists: return "already-exists";
    case ErrorCode::Refused: return "refused";
    case ErrorCode::CryptoFailure: return "crypto-failure";
    case ErrorCode::Internal: return "internal";
  }
  return "unknown";
}

}  // namespace facegate
