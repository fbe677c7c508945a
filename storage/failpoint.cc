#include "storage/failpoint.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

namespace heapa::storage {
namespace {

constexpr std::array<std::string_view, 9> kNames = {
    "commit.before_write",  "commit.after_write",  "pool.before_enqueue",
    "report.mid_apply",     "rebuild.scan",        "shutdown.before_close",
    "admin.before_publish", "admin.after_publish", "live.before_rename"};

// The points reached through FailpointStatus, which may be armed with "=error".
constexpr std::array<std::string_view, 3> kCanFail = {"admin.before_publish", "admin.after_publish",
                                                      "live.before_rename"};

enum class Action { kExit, kError, kPause };

// Per point: the remaining hits before it fires (0: unarmed) and what it then does.
struct Armed {
  std::array<std::atomic<long>, kNames.size()> countdown{};
  std::array<Action, kNames.size()> action{};
  std::array<long, kNames.size()> pause_ms{};
  bool any = false;
};

[[noreturn]] void BadSpec(const std::string& what) {
  std::fprintf(stderr, "HEAPA_FAILPOINTS: %s\n", what.c_str());
  std::_Exit(kFailpointBadSpec);
}

// A whole decimal number of at least `min`, or BadSpec about `item`.
long Number(std::string_view text, long min, std::string_view item) {
  long n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < min) {
    BadSpec("bad number in '" + std::string(item) + "'");
  }
  return n;
}

Armed* Parse() {
  auto* armed = new Armed();  // lives as long as the process
  const char* env = std::getenv("HEAPA_FAILPOINTS");
  if (env == nullptr || *env == '\0') return armed;
  std::string_view spec(env);
  while (!spec.empty()) {
    const size_t comma = spec.find(',');
    const std::string_view whole = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    std::string_view item = whole;  // NAME[=ACTION][@N]
    long n = 1;
    if (const size_t at = item.find('@'); at != std::string_view::npos) {
      n = Number(item.substr(at + 1), 1, whole);
      item = item.substr(0, at);
    }
    Action action = Action::kExit;
    long pause_ms = 0;
    if (const size_t eq = item.find('='); eq != std::string_view::npos) {
      const std::string_view what = item.substr(eq + 1);
      constexpr std::string_view kPause = "pause";
      if (what == "error") {
        action = Action::kError;
      } else if (what.substr(0, kPause.size()) == kPause) {
        action = Action::kPause;
        pause_ms = Number(what.substr(kPause.size()), 0, whole);
      } else {
        BadSpec("unknown action in '" + std::string(whole) + "'");
      }
      item = item.substr(0, eq);
    }
    auto it = std::find(kNames.begin(), kNames.end(), item);
    if (it == kNames.end()) BadSpec("unknown failpoint '" + std::string(item) + "'");
    if (action == Action::kError &&
        std::find(kCanFail.begin(), kCanFail.end(), item) == kCanFail.end()) {
      BadSpec("failpoint '" + std::string(item) + "' cannot return an error");
    }
    const auto i = static_cast<size_t>(it - kNames.begin());
    armed->countdown[i].store(n);
    armed->action[i] = action;
    armed->pause_ms[i] = pause_ms;
    armed->any = true;
  }
  return armed;
}

// Counts a hit of `name`: true if this one fires with an error. Exits or pauses here if it
// fires with that action.
bool Reached(std::string_view name, bool can_fail) {
  static Armed* const armed = Parse();
  if (!armed->any) return false;
  auto it = std::find(kNames.begin(), kNames.end(), name);
  if (it == kNames.end()) BadSpec("unknown failpoint '" + std::string(name) + "' reached");
  const auto i = static_cast<size_t>(it - kNames.begin());
  if (armed->action[i] == Action::kError && !can_fail) {  // kCanFail is out of date
    BadSpec("failpoint '" + std::string(name) + "' is reached without FailpointStatus");
  }
  std::atomic<long>& countdown = armed->countdown[i];
  long left = countdown.load();
  while (left > 0 && !countdown.compare_exchange_weak(left, left - 1)) {
  }
  if (left != 1) return false;
  switch (armed->action[i]) {
    case Action::kError:
      return true;
    case Action::kPause:
      std::this_thread::sleep_for(std::chrono::milliseconds(armed->pause_ms[i]));
      return false;
    case Action::kExit:
      break;
  }
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
