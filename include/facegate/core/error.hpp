#pragma once

#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace facegate {

// What kind of failure happened; the message says which thing and why, in one sentence a
// technician can act on. Codes are stable: callers branch on them, people read the message.
enum class ErrorCode {
  InvalidArgument,   // a caller-supplied value is out of its documented range
  FileNotFound,      // a path that must exist does not
  FileUnreadable,    // exists but cannot be read (permissions, I/O error)
  ImageUndecodable,  // not an image, truncated, or a format OpenCV cannot decode
  ImageTooSmall,     // decoded, but too small to hold a face
  ImageTooLarge,     // over the pixel limit (decompression-bomb guard)
  NoFace,            // the image holds no face the detector accepts
  ModelMissing,      // a model file is not where it should be
  ModelCorrupt,      // a model file is there but its SHA-256 is wrong or it fails to load
  StorageFailure,    // the database could not be opened, read or written (I/O, locked, full)
  StorageCorrupt,    // the database file fails its integrity check or is not a database
  SchemaMismatch,    // the database was written by a newer facegate, or is not facegate's
  NotFound,          // the pupil, badge or record named does not exist
  AlreadyExists,     // creating something that is already there
  Refused,           // a policy says no (consent missing, badge revoked, unusable photo...)
  CryptoFailure,     // authentication failed: wrong key, tampered or swapped data
  Internal,          // a bug or an unexpected library failure
};

std::string_view toString(ErrorCode code) noexcept;

struct Error {
  ErrorCode code;
  std::string message;
};

// Expected failures are values; exceptions are kept for start-up failures and misuse.
template <typename T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}

}  // namespace facegate
