#include "facegate/bench/machine.hpp"

#include <dlfcn.h>
#include <sys/resource.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string_view>

namespace facegate::bench {
namespace {

// dlib links whichever libblas.so.3 the alternatives system points at; the reference
// implementation lives in this directory and is ~15x slower for the embedding network.
constexpr std::string_view kReferenceBlasDir = "/usr/lib/x86_64-linux-gnu/blas/";

}  // namespace

double peakRssMb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux reports KiB
}

std::vector<std::string> mappedBlas() {
  std::vector<std::string> found;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    const auto slash = line.find('/');
    if (slash == std::string::npos) {
      continue;
    }
    std::string path = line.substr(slash);
    const std::string name = std::filesystem::path(path).filename().string();
    const bool blas = name.starts_with("libblas") || name.starts_with("libopenblas");
    if (blas && std::find(found.begin(), found.end(), path) == found.end()) {
      found.push_back(std::move(path));
    }
  }
  return found;
}

std::string blasInUse() {
  void* const sgemm = dlsym(RTLD_DEFAULT, "cblas_sgemm");
  Dl_info info{};
  if (sgemm == nullptr || dladdr(sgemm, &info) == 0 || info.dli_fname == nullptr) {
    return {};
  }
  std::error_code ec;
  const auto real = std::filesystem::canonical(info.dli_fname, ec);
  return ec ? std::string(info.dli_fname) : real.string();
}

bool isReferenceBlas(const std::string& path) {
  return path.starts_with(kReferenceBlasDir);
}

}  // namespace facegate::bench
