#include "facegate/app/lookup.hpp"

#include <system_error>

#include <fmt/format.h>

#include "facegate/badge/keys.hpp"
#include "facegate/build_info.hpp"
#include "facegate/face/models.hpp"
#include "facegate/store/database.hpp"

namespace facegate::app {
namespace fs = std::filesystem;

Result<config::Config> readConfig(const std::optional<fs::path>& path) {
  if (path) {
    return config::loadConfig(*path);
  }
  const fs::path installed(build::kDefaultConfigFile);
  std::error_code ec;
  if (fs::exists(installed, ec)) {
    return config::loadConfig(installed);
  }
  return config::defaults();
}

Result<fs::path> modelDirFor(const config::Config& c, const std::optional<fs::path>& modelsFlag) {
  if (modelsFlag) {
    return face::findModelDir(modelsFlag);
  }
  return face::findModelDir(c.face.modelsDir.empty() ? std::nullopt
                                                     : std::optional<fs::path>(c.face.modelsDir));
}

bool isDemo(const config::Config& c) {
  return c.camera.source == "demo";
}

std::vector<std::string> checkFiles(const config::Config& c,
                                    const std::optional<fs::path>& modelsFlag) {
  std::vector<std::string> problems;
  if (!isDemo(c)) {
    if (auto key = badge::loadPublicKey(c.badge.publicKey); !key) {
      problems.push_back(key.error().message);
    }
    if (!c.badge.templateKey.empty()) {
      if (auto key = badge::TemplateKey::load(c.badge.templateKey); !key) {
        problems.push_back(key.error().message);
      }
    }
    const fs::path dbDir = c.storage.database.parent_path();
    std::error_code ec;
    if (!dbDir.empty() && !fs::is_directory(dbDir, ec)) {
      problems.push_back(
          fmt::format("storage.database: directory {} does not exist", dbDir.string()));
    }
    const fs::file_status db = fs::symlink_status(c.storage.database, ec);
    if (fs::is_directory(db)) {
      problems.push_back(fmt::format("storage.database: {} is a directory, not a database file",
                                     c.storage.database.string()));
    } else if (auto files = store::Database::checkFiles(c.storage.database); !files) {
      // Whose file it is, its mode, its -wal/-shm/-journal: as the daemon will open it.
      problems.push_back(fmt::format("storage.database: {}", files.error().message));
    }
  }
  auto modelDir = modelDirFor(c, modelsFlag);
  if (!modelDir) {
    problems.push_back(modelDir.error().message);
  } else {
    for (const auto file : {face::kRecognitionModel, face::kLandmarkModel}) {
      if (auto ok = face::verifiedModelPath(*modelDir, file); !ok) {
        problems.push_back(ok.error().message);
      }
    }
  }
  return problems;
}

}  // namespace facegate::app
