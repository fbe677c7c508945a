#include "tools/dump/plot.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "tools/cli/format.h"

extern char** environ;

namespace heapa::dump {
namespace {

// argv[1]: the summary JSON; argv[2]: the PNG. Stacked bars: LOW, HIGH, and the rest.
constexpr char kScript[] = R"PY(
import json, sys
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    sys.stderr.write("matplotlib is not installed (apt-get install python3-matplotlib)\n")
    sys.exit(3)
s = json.load(open(sys.argv[1]))
bins = s["histogram"]
x = [b["lo"] for b in bins]
w = [b["hi"] - b["lo"] for b in bins]
low = [b["low"] for b in bins]
high = [b["high"] for b in bins]
other = [b["other"] for b in bins]
fig, ax = plt.subplots(figsize=(8, 4.5))
ax.bar(x, low, w, align="edge", label="LOW", color="#4477aa")
ax.bar(x, high, w, bottom=low, align="edge", label="HIGH", color="#ee6677")
ax.bar(x, other, w, bottom=[a + b for a, b in zip(low, high)], align="edge",
       label="other states", color="#bbbbbb")
ax.set_xlabel("reward")
ax.set_ylabel("queries")
ax.set_title("%d queries, %d scored" % (s["queries"], s["scored"]))
ax.legend()
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=100)
)PY";

}  // namespace

Status PlotSummaryPng(const PoolSummary& summary, const std::string& png_path) {
  char json_path[] = "/tmp/heapa-summary-XXXXXX";
  const int fd = ::mkstemp(json_path);
  if (fd < 0) return Status::IOError("cannot create a temporary file");
  ::close(fd);
  std::ofstream(json_path) << cli::Dump(SummaryJson(summary));
  std::vector<std::string> args = {"/usr/bin/python3", "-c", kScript, json_path, png_path};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = ::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ);
  int status = 0;
  if (spawned == 0) ::waitpid(pid, &status, 0);
  std::error_code ec;
  std::filesystem::remove(json_path, ec);
  if (spawned != 0) return Status::FailedPrecondition("cannot run /usr/bin/python3 for --png");
  if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
    return Status::FailedPrecondition("--png needs matplotlib (python3-matplotlib)");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::IOError("plotting to " + png_path + " failed");
  }
  return Status::OK();
}

}  // namespace heapa::dump
