// heapa-check: the offline integrity check of heapa pools (index/pool_check.h).
//
//   heapa-check DIR [--pool NAME] [--max-problems N] [--json]
//
// DIR is a heapad data directory (every pool under DIR/pools/ is checked, or only --pool) or
// one pool directory. Each pool's live database is opened read-only (storage/pool_locator.h),
// so the check may run next to a daemon; it sees the pool as of the open.
//
// Prints one verdict per pool, and each problem as "  KEY: what" (or one JSON document).
// Exit codes: 0 every pool is clean; 3 damage found (a problem in a record or across records,
// or RocksDB refusing a corrupt database); 4 no pool there or the files cannot be read;
// 5 a pool of an older format, which this build upgrades when it opens it (checked only
// after that); 2 usage; 1 anything else. With several verdicts, the first of 3, 4, 5 wins.
// A pool of an older format this build reads as it is (format 5: its upgrade only writes
// the new version) is checked in full, and its verdict says so.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "index/pool_check.h"
#include "storage/format_upgrade.h"
#include "storage/pool_locator.h"
#include "storage/store.h"
#include "tools/cli/format.h"
#include "tools/dump/progress.h"

namespace heapa {
namespace {

constexpr int kExitClean = 0;
constexpr int kExitUsage = 2;
constexpr int kExitDamaged = 3;
constexpr int kExitUnreadable = 4;
constexpr int kExitNeedsUpgrade = 5;

// What a pool of an older format needs, in words.
std::string UpgradeAdvice(uint32_t from) {
  return fmt::format(
      "format version {}, written by an older heapa; this build upgrades it to {} when it opens "
      "the pool (start heapad on it once, or open it with the library), then check it again",
      from, storage::kFormatVersion);
}

// For an older format this build reads as it is: what opening the pool will do to it.
std::string FormatNote(const index::CheckReport& r) {
  if (r.format_version >= storage::kFormatVersion || !storage::ReadsFormatAsIs(r.format_version)) {
    return "";
  }
  return fmt::format(
      "format version {}: this build reads it as it is, and marks it {} (for good) when it "
      "opens it",
      r.format_version, storage::kFormatVersion);
}

struct PoolVerdict {
  std::string name, dir;
  Status open;  // non-OK: the pool could not be opened
  index::CheckReport report;
};

cli::Json VerdictJson(const PoolVerdict& v) {
  cli::Json j = {{"pool", v.name}, {"dir", v.dir}};
  if (!v.open.ok()) {
    j["clean"] = false;
    j["error"] = v.open.ToString();
    return j;
  }
  const index::CheckReport& r = v.report;
  cli::Json states = cli::Json::object();
  for (uint8_t i = 0; i <= storage::kMaxQueryState; ++i) {
    states[std::string(storage::QueryStateName(static_cast<storage::QueryState>(i)))] =
        r.per_state[i];
  }
  cli::Json problems = cli::Json::array();
  for (const index::CheckProblem& p : r.problems) {
    problems.push_back({{"key", p.key}, {"what", p.what}});
  }
  j["clean"] = r.clean();
  j["format_version"] = r.format_version;
  if (const std::string note = FormatNote(r); !note.empty()) j["format_note"] = note;
  j["needs_upgrade"] = r.upgrade_from != 0;
  if (r.upgrade_from != 0) j["upgrade"] = UpgradeAdvice(r.upgrade_from);
  j["keys"] = r.keys;
  j["queries"] = r.queries;
  j["edges"] = r.edges;
  j["dedup"] = r.dedup;
  j["stats"] = r.stats;
  j["requests"] = r.requests;
  j["states"] = std::move(states);
  j["scan_complete"] = r.scan_complete;
  j["problem_count"] = r.problem_count;
  j["problems"] = std::move(problems);
  return j;
}

std::string VerdictText(const PoolVerdict& v) {
  if (!v.open.ok()) return fmt::format("pool {}: cannot open: {}\n", v.name, v.open.ToString());
  const index::CheckReport& r = v.report;
  if (r.upgrade_from != 0 && r.problem_count == 0) {
    return fmt::format("pool {}: needs upgrade: {}\n", v.name, UpgradeAdvice(r.upgrade_from));
  }
  std::string out = fmt::format(
      "pool {}: {}: {} keys, {} queries, {} edges, {} dedup entries, {} statistics, {} stored "
      "results\n",
      v.name, r.problem_count == 0 ? "clean" : fmt::format("{} problems", r.problem_count), r.keys,
      r.queries, r.edges, r.dedup, r.stats, r.requests);
  for (const index::CheckProblem& p : r.problems) {
    out += fmt::format("  {}: {}\n", p.key.empty() ? "(pool)" : p.key, p.what);
  }
  if (r.problems.size() < r.problem_count) {
    out += fmt::format("  ... and {} more (--max-problems)\n", r.problem_count - r.problems.size());
  }
  if (r.upgrade_from != 0)
    out += fmt::format("  and it needs upgrade: {}\n", UpgradeAdvice(r.upgrade_from));
  if (const std::string note = FormatNote(r); !note.empty()) out += "  " + note + "\n";
  return out;
}

int Run(int argc, char** argv) {
  CLI::App app{"heapa-check: verify every record of heapa pools", "heapa-check"};
  std::string dir;
  std::optional<std::string> pool;
  size_t max_problems = 1000;
  bool json = false;
  app.add_option("dir", dir, "heapad data directory or pool directory")->required();
  app.add_option("--pool", pool, "Check only this pool");
  app.add_option("--max-problems", max_problems, "Problems listed per pool")->capture_default_str();
  app.add_flag("--json", json, "One JSON document instead of text");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  Result<std::vector<storage::LocatedPool>> pools = storage::LocatePools(dir, pool);
  if (!pools.ok()) {
    fmt::print(stderr, "heapa-check: {}\n", pools.status().ToString());
    return kExitUnreadable;
  }
  bool damaged = false, unreadable = false, upgrade = false;
  cli::Json all = cli::Json::array();
  for (const storage::LocatedPool& located : *pools) {
    PoolVerdict v{located.name, located.dir, Status::OK(), {}};
    Result<std::unique_ptr<storage::Store>> store = storage::OpenLiveReadOnly(located.dir);
    if (!store.ok()) {
      v.open = store.status();
      (v.open.code() == Status::Code::kCorruption ? damaged : unreadable) = true;
    } else {
      dump::Progress progress("heapa-check " + located.name);
      index::CheckOptions options;
      options.max_problems = max_problems;
      options.progress = [&](uint64_t keys) { progress.Update(keys, "keys"); };
      Result<index::CheckReport> report = index::CheckPool(**store, options);
      progress.Done();
      if (!report.ok()) {
        v.open = report.status();
        unreadable = true;
      } else {
        v.report = std::move(report).value();
        damaged = damaged || v.report.problem_count > 0;
        upgrade = upgrade || v.report.upgrade_from != 0;
      }
    }
    if (json) {
      all.push_back(VerdictJson(v));
    } else {
      fmt::print("{}", VerdictText(v));
      std::fflush(stdout);
    }
  }
  if (json) fmt::print("{}\n", cli::Dump(cli::Json{{"pools", std::move(all)}}));
  return damaged      ? kExitDamaged
         : unreadable ? kExitUnreadable
         : upgrade    ? kExitNeedsUpgrade
                      : kExitClean;
}

}  // namespace
}  // namespace heapa

int main(int argc, char** argv) {
  try {
    return heapa::Run(argc, argv);
  } catch (const std::exception& e) {
    fmt::print(stderr, "heapa-check: Internal: {}\n", e.what());
  } catch (...) {
    fmt::print(stderr, "heapa-check: Internal: unknown exception\n");
  }
  return 1;
}
