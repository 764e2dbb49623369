// modelDir() lives apart from the rest of the test support so that only the tests that use
// the face engine link it.
#include <gtest/gtest.h>

#include "facegate/face/models.hpp"
#include "test_support.hpp"

namespace facegate::test {

std::filesystem::path modelDir() {
  auto dir = face::findModelDir(std::nullopt);
  if (!dir) {
    ADD_FAILURE() << dir.error().message
                  << " (set FACEGATE_MODELS_UNAVAILABLE=1 to skip model-dependent tests)";
    return {};
  }
  return *dir;
}

}  // namespace facegate::test
