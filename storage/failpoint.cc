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

// Remaining hits before each point fires (0: unarmed), and whether it fails instead of exiting.
struct Armed {
  std::array<std::atomic<long>, kNames.size()> countdown{};
  std::array<bool, kNames.size()> fails{};
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
    bool fails = false;
    const size_t at = item.find('@');
    if (at != std::string_view::npos) {
      const std::string_view count = item.substr(at + 1);
      auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), n);
      if (ec != std::errc() || end != count.data() + count.size() || n < 1) {
        BadSpec("bad count in '" + std::string(item) + "'");
      }
      item = item.substr(0, at);
    }
    constexpr std::string_view kError = "=error";
    if (item.size() > kError.size() && item.substr(item.size() - kError.size()) == kError) {
      fails = true;
      item = item.substr(0, item.size() - kError.size());
    }
    auto it = std::find(kNames.begin(), kNames.end(), item);
    if (it == kNames.end()) BadSpec("unknown failpoint '" + std::string(item) + "'");
    armed->countdown[static_cast<size_t>(it - kNames.begin())].store(n);
    armed->fails[static_cast<size_t>(it - kNames.begin())] = fails;
    armed->any = true;
  }
  return armed;
}

// Counts a hit of `name`: true if this one fires. Exits here if it fires and does not fail.
bool Reached(std::string_view name, bool can_fail) {
  static Armed* const armed = Parse();
  if (!armed->any) return false;
  auto it = std::find(kNames.begin(), kNames.end(), name);
  if (it == kNames.end()) BadSpec("unknown failpoint '" + std::string(name) + "' reached");
  const auto i = static_cast<size_t>(it - kNames.begin());
  if (armed->fails[i] && !can_fail) {
    BadSpec("failpoint '" + std::string(name) + "' cannot return an error");
  }
  std::atomic<long>& countdown = armed->countdown[i];
  long left = countdown.load();
  while (left > 0 && !countdown.compare_exchange_weak(left, left - 1)) {
  }
  if (left != 1) return false;
  if (armed->fails[i]) return true;
  std::fprintf(stderr, "heapa: failpoint %.*s reached, exiting\n", static_cast<int>(name.size()),
               name.data());
  _exit(kFailpointExitCode);
}

}  // namespace

std::span<const std::string_view> FailpointNames() { return kNames; }

void Failpoint(std::string_view name) { (void)Reached(name, /*can_fail=*/false); }

Status FailpointStatus(std::string_view name) {
  if (!Reached(name, /*can_fail=*/true)) return Status::OK();
  return Status::IOError("failpoint " + std::string(name));
}

}  // namespace heapa::storage
