// heapa-dump: reads a pool without disturbing it (stopped, or open in a running heapad).
//
//   heapa-dump DIR [--pool NAME] [--output FILE] [queries|lineage|summary] ...
//
// DIR is a heapad data directory (pools under DIR/pools/<name>) or one pool directory. The
// database is opened read-only: no lock is taken and nothing is written, so a daemon that has
// the pool open goes on undisturbed; the dump shows the pool as of the moment it was opened.
//
//   queries  (default) one JSON object per query per line, as `heapa --json get` prints it;
//            filters: --state S (repeatable), --min-reward, --max-reward, --origin, --source,
//            --ids 1,2,3; --no-content leaves out prompt, answer, meta and tokens.
//   lineage  --format dot|json, --root ID (its subtree), --depth N (below the root).
//   summary  queries per state, the frontier, counters and a reward histogram (--bins N,
//            --min X, --max Y); --json for JSON.
// Progress goes to stderr when stderr is a terminal. Exit codes: 0 done, 2 usage, 3 no such
// pool or query, 4 a record failed verification (run heapa-check), 1 anything else.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "storage/pool_locator.h"
#include "storage/store.h"
#include "tools/dump/lineage.h"
#include "tools/dump/open_pool.h"
#include "tools/dump/plot.h"
#include "tools/dump/progress.h"
#include "tools/dump/queries.h"
#include "tools/dump/summary.h"
#include "tools/flag_checks.h"

namespace heapa::dump {
namespace {

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;
constexpr int kExitNotFound = 3;
constexpr int kExitCorrupt = 4;

int Fail(const Status& s) {
  std::cout.flush();
  fmt::print(stderr, "heapa-dump: {}\n", s.ToString());
  switch (s.code()) {
    case Status::Code::kNotFound:
      return kExitNotFound;
    case Status::Code::kCorruption:
      return kExitCorrupt;
    case Status::Code::kInvalidArgument:
      return kExitUsage;
    default:
      return kExitError;
  }
}

struct Flags {
  std::string dir;
  std::optional<std::string> pool;
  std::string output;
  // queries
  std::vector<std::string> states;
  std::optional<double> min_reward, max_reward;
  std::optional<std::string> origin, source;
  std::vector<uint64_t> ids;
  bool no_content = false;
  // lineage
  std::string format = "dot";
  std::optional<uint64_t> root;
  uint32_t depth = UINT32_MAX;
  // summary
  uint32_t bins = 20;
  std::optional<double> lo, hi;
  bool json = false;
  std::string png;
};

int Run(int argc, char** argv) {
  std::ios::sync_with_stdio(false);  // a million lines through std::cout
  CLI::App app{"heapa-dump: read a heapa pool offline or next to a running heapad", "heapa-dump"};
  Flags f;
  app.add_option("dir", f.dir, "heapad data directory or pool directory")->required();
  app.add_option("--pool", f.pool, "Pool name (needed when DIR holds several)");
  app.add_option("--output,-o", f.output, "Write here instead of stdout");
  CLI::App* queries = app.add_subcommand("queries", "Queries as JSON lines (the default)");
  queries->add_option("--state", f.states, "Only these states (COLD, LOW, HIGH, ...)")
      ->delimiter(',');
  queries->add_option("--min-reward", f.min_reward, "Only rewards >= this");
  queries->add_option("--max-reward", f.max_reward, "Only rewards <= this");
  queries->add_option("--origin", f.origin, "seed or augmented")
      ->check(CLI::IsMember({"seed", "augmented"}));
  queries->add_option("--source", f.source, "Only this data source");
  queries->add_option("--ids", f.ids, "Only these ids (comma-separated)")
      ->delimiter(',')
      ->check(Unsigned());
  queries->add_flag("--no-content", f.no_content, "Leave out prompt, answer, meta and tokens");
  CLI::App* lineage = app.add_subcommand("lineage", "The lineage graph as DOT or JSON");
  lineage->add_option("--format", f.format, "dot or json")
      ->check(CLI::IsMember({"dot", "json"}))
      ->capture_default_str();
  lineage->add_option("--root", f.root, "Only this query and its descendants")->check(Unsigned());
  lineage->add_option("--depth", f.depth, "With --root: at most this many levels below it")
      ->check(Unsigned());
  CLI::App* summary = app.add_subcommand("summary", "Partitions, counters, reward histogram");
  summary->add_option("--bins", f.bins, "Histogram bins")->check(CLI::Range(1, 1000));
  summary->add_option("--min", f.lo, "Histogram range start (default: the smallest reward)");
  summary->add_option("--max", f.hi, "Histogram range end (default: the largest reward)");
  summary->add_flag("--json", f.json, "One JSON document instead of text");
  summary->add_option("--png", f.png, "Also draw the reward histogram into this PNG (matplotlib)");
  app.require_subcommand(0, 1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  QueryFilter filter;
  for (const std::string& name : f.states) {
    const std::optional<storage::QueryState> s = ParseStateName(name);
    if (!s) return Fail(Status::InvalidArgument("unknown state '" + name + "'"));
    filter.states.push_back(*s);
  }
  filter.min_reward = f.min_reward;
  filter.max_reward = f.max_reward;
  if (f.origin) {
    filter.origin = *f.origin == "seed" ? storage::Origin::kSeed : storage::Origin::kAugmented;
  }
  filter.source = f.source;
  filter.ids = f.ids;
  filter.with_content = !f.no_content;

  Result<storage::LocatedPool> pool = PickPool(f.dir, f.pool);
  if (!pool.ok()) return Fail(pool.status());
  Result<std::unique_ptr<storage::Store>> store = storage::OpenLiveReadOnly(pool->dir);
  if (!store.ok()) return Fail(store.status().WithContext("pool " + pool->name));

  std::ofstream file;
  if (!f.output.empty()) {
    file.open(f.output, std::ios::binary | std::ios::trunc);
    if (!file.is_open()) return Fail(Status::IOError("cannot open " + f.output));
  }
  std::ostream& out = f.output.empty() ? std::cout : file;
  Status s;
  Progress progress("heapa-dump " + pool->name);
  if (lineage->parsed()) {
    LineageOptions options;
    options.format =
        f.format == "json" ? LineageOptions::Format::kJson : LineageOptions::Format::kDot;
    options.root = f.root;
    options.max_depth = f.depth;
    s = DumpLineage(**store, options, out);
  } else if (summary->parsed()) {
    Result<PoolSummary> sum = Summarize(**store, f.bins, f.lo, f.hi, &progress);
    s = sum.status();
    if (sum.ok()) out << (f.json ? cli::Dump(SummaryJson(*sum)) + "\n" : SummaryText(*sum));
    if (sum.ok() && !f.png.empty()) s = PlotSummaryPng(*sum, f.png);
  } else {
    s = DumpQueries(**store, filter, out, &progress);
  }
  progress.Done();
  out.flush();
  if (s.ok() && !out) s = Status::IOError("cannot write the output");
  if (!s.ok()) return Fail(s.WithContext("pool " + pool->name));
  return 0;
}

}  // namespace
}  // namespace heapa::dump

int main(int argc, char** argv) {
  try {
    return heapa::dump::Run(argc, argv);
  } catch (const std::exception& e) {
    fmt::print(stderr, "heapa-dump: Internal: {}\n", e.what());
  } catch (...) {
    fmt::print(stderr, "heapa-dump: Internal: unknown exception\n");
  }
  return 1;
}
