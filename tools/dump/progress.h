// dump::Progress: a one-line progress counter on stderr, shown only when stderr is a terminal
// (so logs and pipes stay clean). Redrawn at most five times a second.
//
// Thread safety: none.
#ifndef HEAPA_TOOLS_DUMP_PROGRESS_H_
#define HEAPA_TOOLS_DUMP_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <string>

namespace heapa::dump {

class Progress {
 public:
  // `enabled`: draw at all; by default, whether stderr is a terminal.
  explicit Progress(std::string label);
  Progress(std::string label, bool enabled);
  ~Progress() { Done(); }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Sets the count shown (and `what` after it, e.g. "added 10, duplicates 2").
  void Update(uint64_t count, const std::string& what = "");
  // Clears the line. Idempotent.
  void Done();
  bool enabled() const { return enabled_; }

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace heapa::dump

#endif  // HEAPA_TOOLS_DUMP_PROGRESS_H_
