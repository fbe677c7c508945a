// The workloads of heapa_bench, run the same way against every target (target.h), and the
// figures they measure.
//
//   fill      insert --pool-size scored queries (texts of --prompt-bytes) in Inserts of
//             --insert-batch, --fill-pipeline at a time (each applies while the one before is
//             written); queries/s inside the calls, latency per call; RSS after
//   step      --steps training steps: Sample(--batch, with texts) + Report(--batch x 16 rollouts),
//             after --warmup-steps unmeasured ones (a pool whose queries have statistics: the
//             fill writes none, so the first reports read nothing); --rollout-ms idle between
//             the Sample and the Report of each measured step (a trainer generating rollouts),
//             subtracted from the step figure
//   sample    --sample-ops calls of Sample(--batch, with texts): sampled queries/s for one
//             client; then --small-ops calls of Sample(1): the latency of a single small sample
//   report    --clients threads, each its own connection, for --seconds: lease 64, then report
//             them one per request, --pipeline requests at a time (sent back to back, then
//             answered): durable reports/s and the latency of a call
//   children  --children validated children of random seeds, 64 per call: children/s
//   refresh   --refresh-ops ChildAgg refresh dry runs over the lineage: ms per run
//   reopen    close the pool (stop the daemon) and open it again: ms until it serves; RSS after
//
// Thread safety: a Runner is used by one thread (it starts the report threads itself).
#ifndef HEAPA_TOOLS_BENCH_WORKLOADS_H_
#define HEAPA_TOOLS_BENCH_WORKLOADS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "storage/status.h"
#include "tools/bench/target.h"

namespace heapa::bench {

struct WorkloadOptions {
  uint64_t pool_size = 1'000'000;
  uint32_t batch = 512;
  uint32_t steps = 100;
  uint32_t warmup_steps = 0;
  uint32_t rollout_ms = 0;
  uint32_t sample_ops = 100;
  uint32_t small_ops = 2000;
  int clients = 16;
  uint32_t pipeline = 1;
  double seconds = 10;
  uint32_t children = 10'000;
  uint32_t refresh_ops = 3;
  size_t prompt_bytes = 300;
  size_t insert_batch = 5000;
  uint32_t fill_pipeline = 4;
  uint64_t seed = 301;
};

// One measured figure of one target.
struct Figure {
  double value = 0;
  bool higher_is_better = true;
};

// The figures of one target by metric name (the rows of the comparison table), in the order
// they were first measured.
class Figures {
 public:
  Figure& operator[](const std::string& name) {
    for (auto& [n, f] : items_) {
      if (n == name) return f;
    }
    return items_.emplace_back(name, Figure{}).second;
  }
  const Figure* find(const std::string& name) const {
    for (const auto& [n, f] : items_) {
      if (n == name) return &f;
    }
    return nullptr;
  }
  const std::vector<std::pair<std::string, Figure>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, Figure>> items_;
};

class Runner {
 public:
  Runner(const WorkloadOptions& options, Target* target);
  // Runs one benchmark by name, printing its lines; records its figures.
  Status Run(const std::string& benchmark);
  const Figures& figures() const { return figures_; }
  // Prints the pool's set sizes (Session::Counts).
  Status PrintCounts();

 private:
  Status Fill();
  Status Step();
  Status Sample();
  Status Report();
  Status Children();
  Status Refresh();
  Status Reopen();
  Status EnsureSession();
  void Memory(const std::string& when);

  const WorkloadOptions o_;
  Target* target_;
  std::unique_ptr<Session> session_;
  Figures figures_;
  uint64_t step_ = 0;  // the trainer's step, across benchmarks
};

}  // namespace heapa::bench

#endif  // HEAPA_TOOLS_BENCH_WORKLOADS_H_
