// `facegate bench` as a technician runs it: the real binary, its JSON and its exit codes.
// Timings are measured, never asserted: only their presence and sanity are.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace facegate {
namespace {

namespace fs = std::filesystem;

const fs::path kCli = FACEGATE_CLI;

test::CommandResult bench(const std::vector<std::string>& args) {
  std::vector<std::string> all{"bench"};
  all.insert(all.end(), args.begin(), args.end());
  return test::runCommand(kCli, all);
}

void expectTimings(const nlohmann::json& stage, const std::string& unit, const std::string& where) {
  ASSERT_TRUE(stage.is_object()) << where;
  double previous = 0.0;
  for (const std::string quantile : {"p50", "p95", "max"}) {
    const auto& value = stage[quantile + "_" + unit];
    ASSERT_TRUE(value.is_number()) << where << " " << quantile;
    EXPECT_GE(value.get<double>(), previous) << where << " " << quantile;
    previous = value.get<double>();
  }
}

TEST(BenchCli, JsonHoldsEveryStageOfBothPathsForBothFrameSizes) {
  FACEGATE_REQUIRE_MODELS();
  const auto r = bench({"--iterations", "3", "--warmup", "1", "--json"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const auto json = nlohmann::json::parse(r.out);
  EXPECT_EQ(json["iterations"], 3);
  EXPECT_EQ(json["warmup"], 1);

  ASSERT_TRUE(json["blas"].is_string());
  const std::string blas = json["blas"];
  EXPECT_EQ(blas.front(), '/') << blas;
  EXPECT_NE(blas.find("blas"), std::string::npos) << blas;

  for (const char* size : {"640x480", "1280x720"}) {
    const auto& frame = json["frames"][size];
    ASSERT_TRUE(frame.is_object()) << size;
    // The composed frame must be what a gate sees: a readable badge and one face.
    EXPECT_EQ(frame["qr_read"], true) << size;
    EXPECT_EQ(frame["faces_found"], 1) << size;
    // penny_5 against penny_1: the benchmark runs a genuine verification.
    EXPECT_LT(frame["distance"].get<double>(), 0.58) << size;
    expectTimings(frame["decode"], "ms", std::string(size) + " decode");
    expectTimings(frame["qr_scan"], "ms", std::string(size) + " qr_scan");
    expectTimings(frame["match"], "us", std::string(size) + " match");
    for (const char* path : {"stock", "facegate"}) {
      for (const char* stage : {"detect", "align", "embed", "total", "decision"}) {
        expectTimings(frame[path][stage], "ms", fmt::format("{} {} {}", size, path, stage));
        EXPECT_GT(frame[path][stage]["p50_ms"].get<double>(), 0.0) << size << path << stage;
      }
    }
    for (const char* stage : {"detect", "align", "embed", "total", "decision"}) {
      EXPECT_GT(frame["ratio_stock_to_facegate"][stage].get<double>(), 0.0) << size << stage;
    }
  }
  EXPECT_GT(json["peak_rss_mb_one_engine"].get<double>(), 0.0);
  EXPECT_GE(json["peak_rss_mb"].get<double>(), json["peak_rss_mb_one_engine"].get<double>());
  EXPECT_EQ(json["throughput"]["threads"], 2);
  EXPECT_GT(json["throughput"]["verifications_per_second"].get<double>(), 0.0);
}

TEST(BenchCli, ZeroIterationsIsABadArgument) {
  const auto r = bench({"--iterations", "0"});
  EXPECT_EQ(r.exitCode, 2) << r.err;
  EXPECT_NE(r.err.find("--iterations expects a whole number from 1"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(BenchCli, UnknownOptionIsABadArgument) {
  const auto r = bench({"--frames", "9"});
  EXPECT_EQ(r.exitCode, 2) << r.err;
  EXPECT_NE(r.err.find("--frames"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

}  // namespace
}  // namespace facegate
