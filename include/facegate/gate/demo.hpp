#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "facegate/badge/keys.hpp"
#include "facegate/camera/frame_source.hpp"
#include "facegate/core/error.hpp"
#include "facegate/face/engine.hpp"
#include "facegate/gate/passage_machine.hpp"
#include "facegate/store/database.hpp"

namespace facegate::gate {

// A camera that replays a prepared list of frames and outages. Frame timestamps advance by
// one frame interval per frame from the first open(), so that the replay runs as fast as
// the gate can process it yet the state machine sees the scenario's own timing. An outage
// step makes read() report Stalled once (the loop then reconnects). close()/open() resume
// where the replay was, like a camera that comes back.
class ScenarioSource final : public camera::FrameSource {
 public:
  struct Step {
    cv::Mat frame;        // empty: an outage
    std::string caption;  // for describe() and the demo's log
  };

  ScenarioSource(std::vector<Step> steps, int fps) : steps_(std::move(steps)), fps_(fps) {}

  Result<void> open() override;
  camera::ReadStatus read(camera::Frame& out, std::chrono::milliseconds timeout) override;
  void close() noexcept override { open_ = false; }
  std::string describe() const override { return "demo scenario"; }

  std::size_t position() const { return next_; }

 private:
  std::vector<Step> steps_;
  int fps_;
  std::size_t next_ = 0;
  std::uint64_t index_ = 0;
  bool open_ = false;
  bool started_ = false;
  std::chrono::steady_clock::time_point base_{};
};

struct DemoPassage {
  std::string who;  // what happens, in words
  Outcome expected;
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
  std::unique_ptr<ScenarioSource> takeSource() { return std::move(source_); }
  const std::vector<DemoPassage>& passages() const { return passages_; }
  const std::filesystem::path& directory() const { return dir_; }

  static constexpr int kFps = 15;

 private:
  DemoWorld() = default;
  std::filesystem::path dir_;
  std::optional<store::Database> database_;
  badge::PublicKey publicKey_{};
  std::optional<badge::TemplateKey> templateKey_;
  std::unique_ptr<ScenarioSource> source_;
  std::vector<DemoPassage> passages_;
};

// Where the demo's photos are: $FACEGATE_DEMO_FACES, the installed data directory, or the
// source tree's tests/data/faces.
Result<std::filesystem::path> findDemoFaces();

}  // namespace facegate::gate
