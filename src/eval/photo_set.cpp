#include "facegate/eval/photo_set.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_set>

#include <fmt/format.h>

#include "facegate/core/stopwatch.hpp"
#include "facegate/face/engine.hpp"
#include "facegate/face/image_file.hpp"

namespace facegate::eval {
namespace fs = std::filesystem;

namespace {

bool isImageFile(const fs::path& file) {
  std::string ext = file.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp";
}

std::vector<fs::directory_entry> sortedEntries(const fs::path& dir) {
  std::vector<fs::directory_entry> entries{fs::directory_iterator(dir), fs::directory_iterator()};
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.path().filename() < b.path().filename(); });
  return entries;
}

}  // namespace

Result<PhotoSet> scanPhotoSet(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return fail(ErrorCode::FileNotFound,
                fmt::format("{} is not a folder of person folders", dir.string()));
  }
  PhotoSet set;
  try {
    for (const auto& folder : sortedEntries(dir)) {
      const std::string name = folder.path().filename().string();
      if (!folder.is_directory() || name.starts_with('_') || name.starts_with('.')) {
        continue;
      }
      const int person = static_cast<int>(set.persons.size());
      bool any = false;
      for (const auto& file : sortedEntries(folder.path())) {
        const std::string fileName = file.path().filename().string();
        if (file.is_regular_file() && !fileName.starts_with('.') && isImageFile(file.path())) {
          set.images.push_back({dir / name / fileName, person});
          any = true;
        }
      }
      if (any) {
        set.persons.push_back(name);
      }
    }
  } catch (const fs::filesystem_error& e) {
    return fail(ErrorCode::FileUnreadable,
                fmt::format("{} cannot be listed: {}", dir.string(), e.code().message()));
  }
  if (set.persons.empty()) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("{} holds no person folder with images (expected DIR/<person>/*.jpg)",
                            dir.string()));
  }
  return set;
}

std::string_view toString(FaceChoice choice) noexcept {
  return choice == FaceChoice::Largest ? "largest face" : "face nearest the centre";
}

std::string_view toString(Recipe recipe) noexcept {
  return recipe == Recipe::Facegate ? "facegate" : "dlib stock recipe";
}

std::size_t chooseFace(const std::vector<face::FaceBox>& faces, cv::Size frameSize,
                       FaceChoice choice) {
  if (choice == FaceChoice::Largest) {
    return 0;  // detect() sorts them largest first
  }
  const double cx = frameSize.width / 2.0;
  const double cy = frameSize.height / 2.0;
  std::size_t best = 0;
  double bestDistance = 0.0;
  for (std::size_t i = 0; i < faces.size(); ++i) {
    const cv::Rect& r = faces[i].rect;
    const double dx = r.x + (r.width / 2.0) - cx;
    const double dy = r.y + (r.height / 2.0) - cy;
    const double d = (dx * dx) + (dy * dy);
    if (i == 0 || d < bestDistance) {
      best = i;
      bestDistance = d;
    }
  }
  return best;
}

namespace {

// One photo's embedding by `options`' recipe and face rule; the problem when there is none.
Result<face::Embedding> embedOne(face::FaceEngine& engine, const cv::Mat& image,
                                 const EmbedOptions& options) {
  if (options.recipe == Recipe::Stock) {
    auto description = engine.describeStock(image);
    if (!description) {
      return tl::unexpected(description.error());
    }
    return std::move(description->embedding);
  }
  face::StageTimings ms;
  auto detection = engine.detect(image, ms);
  if (!detection) {
    return tl::unexpected(detection.error());
  }
  if (detection->faces.empty()) {
    return fail(ErrorCode::NoFace, "no face was found");
  }
  const std::size_t chosen = chooseFace(detection->faces, image.size(), options.choice);
  return engine.describe(image, detection->faces[chosen], ms);
}

}  // namespace

Result<std::vector<ImageEmbedding>> embedImages(const std::vector<fs::path>& files,
                                                const fs::path& modelDir,
                                                const EmbedOptions& options) {
  const auto threadCount = static_cast<std::size_t>(
      std::clamp<std::size_t>(static_cast<std::size_t>(std::max(options.threads, 1)), 1,
                              std::max<std::size_t>(files.size(), 1)));
  std::vector<std::unique_ptr<face::FaceEngine>> engines;
  for (std::size_t i = 0; i < threadCount; ++i) {
    auto engine = face::FaceEngine::load(modelDir, options.engine);
    if (!engine) {
      return tl::unexpected(engine.error());
    }
    engines.push_back(std::move(*engine));
  }

  std::vector<ImageEmbedding> results(files.size());
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> done{0};
  std::mutex mutex;
  std::condition_variable finished;
  std::size_t running = threadCount;

  // Each worker owns one engine and writes only the result slots of the indices it takes.
  auto work = [&](face::FaceEngine& engine) {
    for (std::size_t i = next++; i < files.size(); i = next++) {
      ImageEmbedding& out = results[i];
      auto image = face::loadImage(files[i]);
      if (!image) {
        out.problem = image.error().message;
      } else if (auto embedding = embedOne(engine, *image, options); embedding) {
        out.embedding = std::move(*embedding);
      } else {
        out.problem = embedding.error().code == ErrorCode::NoFace ? std::string("no face was found")
                                                                  : embedding.error().message;
      }
      ++done;
    }
    const std::lock_guard lock(mutex);
    --running;
    finished.notify_all();
  };

  const Stopwatch watch;
  std::vector<std::jthread> workers;
  workers.reserve(engines.size());
  for (auto& engine : engines) {
    workers.emplace_back(work, std::ref(*engine));
  }
  {
    std::unique_lock lock(mutex);
    while (!finished.wait_for(lock, options.progressEvery, [&] { return running == 0; })) {
      if (options.onProgress) {
        const EmbedProgress progress{done.load(), files.size(), watch.elapsedMs() / 1000.0};
        lock.unlock();
        options.onProgress(progress);
        lock.lock();
      }
    }
  }
  workers.clear();  // joins
  return results;
}

PairSelection selectPairs(const std::vector<int>& person, std::uint64_t maxImpostors,
                          std::uint64_t seed) {
  PairSelection selection;
  const std::size_t n = person.size();
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i + 1; j < n; ++j) {
      if (person[i] == person[j]) {
        selection.genuine.emplace_back(i, j);
      }
    }
  }
  const std::uint64_t all = static_cast<std::uint64_t>(n) * (n == 0 ? 0 : n - 1) / 2;
  selection.impostorPossible = all - selection.genuine.size();
  if (selection.impostorPossible <= maxImpostors) {
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = i + 1; j < n; ++j) {
        if (person[i] != person[j]) {
          selection.impostor.emplace_back(i, j);
        }
      }
    }
    return selection;
  }
  // Rejection sampling of distinct pairs: cheap while the sample is a small part of all
  // impostor pairs, which is when sampling is used (LFW: 1e5 of ~8.7e7).
  selection.impostorSampled = true;
  std::mt19937_64 random(seed);
  std::uniform_int_distribution<std::size_t> pick(0, n - 1);
  std::unordered_set<std::uint64_t> taken;
  while (selection.impostor.size() < maxImpostors) {
    std::size_t i = pick(random);
    std::size_t j = pick(random);
    if (person[i] == person[j]) {
      continue;
    }
    if (i > j) {
      std::swap(i, j);
    }
    if (taken.insert(static_cast<std::uint64_t>(i) * n + j).second) {
      selection.impostor.emplace_back(i, j);
    }
  }
  return selection;
}

}  // namespace facegate::eval
