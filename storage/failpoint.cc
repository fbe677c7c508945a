#include "storage/failpoint.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace heapa::storage {
namespace {

constexpr std::array<std::string_view, 8> kNames = {
    "commit.before_write", "commit.after_write",    "pool.before_enqueue",  "report.mid_apply",
    "rebuild.scan",        "shutdown.before_close", "admin.before_publish", "admin.after_publish"};

// Remaining hits before each point fires; 0: unarmed.
struct Armed {
  std::array<std::atomic<long>, kNames.size()> countdown{};
  bool any = false;
};

[[noreturn]] void BadSpec(const std::string& what) {
  std::fprintf(stderr, "HEAPA_FAILPOINTS: %s\n", what.c_str());
  std::_Exit(kFailpointBadSpec);
}

Armed* Parse() {
  auto* armed = new Armed();  // lives as long as the process
  const char* env = std::getenv("HEAPA_FAILPOINTS");
  if (env == nullptr || *env == '\0') return armed;
  std::string_view spec(env);
  while (!spec.empty()) {
    const size_t comma = spec.find(',');
    std::string_view item = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    long n = 1;
    const size_t at = item.find('@');
    if (at != std::string_view::npos) {
      const std::string_view count = item.substr(at + 1);
      auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), n);
      if (ec != std::errc() || end != count.data() + count.size() || n < 1) {
        BadSpec("bad count in '" + std::string(item) + "'");
      }
      item = item.substr(0, at);
    }
    auto it = std::find(kNames.begin(), kNames.end(), item);
    if (it == kNames.end()) BadSpec("unknown failpoint '" + std::string(item) + "'");
    armed->countdown[static_cast<size_t>(it - kNames.begin())].store(n);
    armed->any = true;
  }
  return armed;
}

}  // namespace

std::span<const std::string_view> FailpointNames() { return kNames; }

void Failpoint(std::string_view name) {
  static Armed* const armed = Parse();
  if (!armed->any) return;
  auto it = std::find(kNames.begin(), kNames.end(), name);
  if (it == kNames.end()) BadSpec("unknown failpoint '" + std::string(name) + "' reached");
  std::atomic<long>& countdown = armed->countdown[static_cast<size_t>(it - kNames.begin())];
  long left = countdown.load();
  while (left > 0 && !countdown.compare_exchange_weak(left, left - 1)) {
  }
  if (left == 1) {
    std::fprintf(stderr, "heapa: failpoint %.*s reached, exiting\n", static_cast<int>(name.size()),
                 name.data());
    _exit(kFailpointExitCode);
  }
}

}  // namespace heapa::storage
