#include "facegate/demo/faces.hpp"

#include <cstdlib>
#include <string_view>
#include <system_error>

#include <fmt/format.h>

#include "facegate/build_info.hpp"

namespace facegate::demo {
namespace fs = std::filesystem;

Result<fs::path> findDemoFaces() {
  if (const char* env = std::getenv("FACEGATE_DEMO_FACES"); env != nullptr && *env != '\0') {
    return fs::path(env);
  }
  for (const std::string_view dir : {build::kInstalledDemoFacesDir, build::kSourceDemoFacesDir}) {
    std::error_code ec;
    if (fs::is_directory(fs::path(dir) / "penny", ec)) {
      return fs::path(dir);
    }
  }
  return fail(ErrorCode::FileNotFound,
              fmt::format("the demo's photos are not installed in {} nor in {} (set "
                          "FACEGATE_DEMO_FACES)",
                          build::kInstalledDemoFacesDir, build::kSourceDemoFacesDir));
}

}  // namespace facegate::demo
