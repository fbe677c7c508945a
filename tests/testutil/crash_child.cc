#include "tests/testutil/crash_child.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "index/pool.h"

namespace heapa::testing {
namespace {

void Emit(const std::string& line) {
  const std::string out = line + "\n";
  size_t off = 0;
  while (off < out.size()) {
    const ssize_t n = ::write(STDOUT_FILENO, out.data() + off, out.size() - off);
    if (n <= 0) std::_Exit(3);
    off += static_cast<size_t>(n);
  }
}

}  // namespace

int RunCrashChild(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s %s <dir> <seed> <tag>\n", argv[0], kCrashChildFlag);
    return 2;
  }
  const std::string dir = argv[2];
  std::mt19937_64 rng(std::strtoull(argv[3], nullptr, 10));
  const std::string tag = argv[4];

  PoolOptions options;
  options.create_if_missing = true;
  options.config.max_size = 300;  // small: eviction and reinsertion happen often
  options.config.rng_seed = 11;
  options.write_buffer_bytes = 256 << 10;  // small memtables: flushes happen under the kill too
  auto opened = Pool::Open(dir, options);
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.status().ToString().c_str());
    return 4;
  }
  Pool& pool = **opened;
  auto emit_durable = [&] { Emit("D " + std::to_string(pool.Stats().counters.durable_seq)); };

  // A resuming trainer first takes back what the killed one had leased.
  Emit("X recover");
  if (!pool.Recover().ok()) return 9;
  emit_durable();

  std::vector<SampledQuery> leased;
  int next_prompt = 0;
  for (int op = 0; op < 20000; ++op) {
    const int kind = static_cast<int>(rng() % 10);
    if (kind < 4) {
      std::vector<NewQuery> batch(1 + rng() % 16);
      for (NewQuery& q : batch) {
        q.prompt = tag + "-" + std::to_string(next_prompt++) + std::string(rng() % 200, 'p');
        q.answer = "a";
        if (rng() % 2) q.reward = static_cast<double>(rng() % 17) / 8.0 - 1.0;
      }
      Emit("X insert");
      auto r = pool.Insert(batch);
      if (!r.ok()) return 5;
      for (size_t i = 0; i < batch.size(); ++i) {
        if ((*r)[i].created) Emit("I " + std::to_string((*r)[i].id) + " " + batch[i].prompt);
      }
    } else if (kind < 7) {
      SampleRequest req;
      req.count = static_cast<uint32_t>(1 + rng() % 16);
      req.with_content = false;
      Emit("X sample");
      auto r = pool.Sample(req);
      if (!r.ok()) return 6;
      leased.insert(leased.end(), r->begin(), r->end());
    } else if (kind < 9) {
      if (leased.empty()) continue;
      std::vector<ReportItem> items;
      const size_t n = 1 + rng() % leased.size();
      for (size_t i = 0; i < n && !leased.empty(); ++i) {
        const SampledQuery sq = leased.back();
        leased.pop_back();
        items.push_back({sq.id, sq.lease, {1.0, rng() % 2 ? 1.0 : -1.0}, op});
      }
      Emit("X report");
      auto r = pool.Report(items);
      if (!r.ok()) return 7;
      for (size_t i = 0; i < items.size(); ++i) {
        if ((*r)[i] == ReportOutcome::kApplied) {
          Emit("R " + std::to_string(items[i].id) + " " + std::to_string(items[i].lease));
        }
      }
    } else {
      Emit("X reinsert");
      if (!pool.Reinsert().ok()) return 8;
    }
    emit_durable();
  }
  return 0;
}

}  // namespace heapa::testing
