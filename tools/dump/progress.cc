#include "tools/dump/progress.h"

#include <fmt/core.h>
#include <unistd.h>

#include <cstdio>

namespace heapa::dump {

Progress::Progress(std::string label) : Progress(std::move(label), isatty(STDERR_FILENO) == 1) {}

Progress::Progress(std::string label, bool enabled) : label_(std::move(label)), enabled_(enabled) {}

void Progress::Update(uint64_t count, const std::string& what) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_ < std::chrono::milliseconds(200)) return;
  last_ = now;
  drawn_ = true;
  fmt::print(stderr, "\r\033[K{}: {}{}{}", label_, count, what.empty() ? "" : " ", what);
  std::fflush(stderr);
}

void Progress::Done() {
  if (!drawn_) return;
  drawn_ = false;
  fmt::print(stderr, "\r\033[K");
  std::fflush(stderr);
}

}  // namespace heapa::dump
