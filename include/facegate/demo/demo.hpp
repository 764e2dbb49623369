#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "facegate/badge/keys.hpp"
#include "facegate/camera/scenario_source.hpp"
#include "facegate/core/error.hpp"
#include "facegate/demo/faces.hpp"
#include "facegate/face/engine.hpp"
#include "facegate/gate/passage_machine.hpp"
#include "facegate/store/database.hpp"

namespace facegate::demo {

struct DemoPassage {
  std::string who;  // what happens, in words
  gate::Outcome expected;
};

// facegated's embedded default: a school with a few enrolled volunteers, a non-volunteer,
// an impostor, a forged and a revoked badge, a badge with nobody in front of the camera and
// a camera outage, built from the fixture photos with the real enrolment code into a
// private temporary directory (removed on destruction), and rendered into camera frames.
class DemoWorld {
 public:
  // `facesDir` holds the fixture photos (one folder per person).
  static Result<std::unique_ptr<DemoWorld>> create(face::FaceEngine& engine,
                                                   const std::filesystem::path& facesDir);
  ~DemoWorld();
  DemoWorld(const DemoWorld&) = delete;
  DemoWorld& operator=(const DemoWorld&) = delete;

  store::Database& database() { return *database_; }
  const badge::PublicKey& publicKey() const { return publicKey_; }
  const badge::TemplateKey& templateKey() const { return *templateKey_; }
  std::unique_ptr<camera::ScenarioSource> takeSource() { return std::move(source_); }
  const std::vector<DemoPassage>& passages() const { return passages_; }
  const std::filesystem::path& directory() const { return dir_; }

  static constexpr int kFps = 15;

 private:
  DemoWorld() = default;
  std::filesystem::path dir_;
  std::optional<store::Database> database_;
  badge::PublicKey publicKey_{};
  std::optional<badge::TemplateKey> templateKey_;
  std::unique_ptr<camera::ScenarioSource> source_;
  std::vector<DemoPassage> passages_;
};

}  // namespace facegate::demo
