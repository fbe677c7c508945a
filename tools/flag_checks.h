// CLI11 validators for numeric flags, shared by heapad and the tools. CLI11 alone reads -5
// into an unsigned variable as 2^64 - 5, and its ranges print their bounds as 2^1024.
#ifndef HEAPA_TOOLS_FLAG_CHECKS_H_
#define HEAPA_TOOLS_FLAG_CHECKS_H_

#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdint>
#include <string>
#include <system_error>

namespace heapa {

// True when `text` is exactly one decimal number that fits in T (sign only where T has one).
template <typename T>
bool ParsesAs(const std::string& text, T* v) {
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, *v);
  return ec == std::errc() && ptr == end;
}

// Accepts an integer >= min; the message names the bound (CLI11's ranges print 2^1024).
inline CLI::Validator AtLeast(int64_t min) {
  return CLI::Validator(
      [min](const std::string& text) -> std::string {
        int64_t v = 0;
        if (ParsesAs(text, &v) && v >= min) return "";
        return fmt::format("{} is not an integer >= {}", text, min);
      },
      "");
}

// Accepts a duration in milliseconds >= min and at most about 31 years (a larger one would
// overflow a clock's nanoseconds and fire at once).
inline constexpr int64_t kMaxFlagMilliseconds = 1'000'000'000'000;
inline CLI::Validator Milliseconds(int64_t min) {
  return CLI::Validator(
      [min](const std::string& text) -> std::string {
        int64_t v = 0;
        if (ParsesAs(text, &v) && v >= min && v <= kMaxFlagMilliseconds) return "";
        return fmt::format("{} is not a number of milliseconds in [{}, {}]", text, min,
                           kMaxFlagMilliseconds);
      },
      "");
}

// Accepts a decimal number that fits in 64 bits unsigned: an id, a lease, a size or a seed.
// CLI11 alone reads -1 into an unsigned variable as 2^64 - 1.
inline CLI::Validator Unsigned() {
  return CLI::Validator(
      [](const std::string& text) -> std::string {
        uint64_t v = 0;
        if (ParsesAs(text, &v)) return "";
        return fmt::format("{} is not an unsigned integer", text);
      },
      "");
}

}  // namespace heapa

#endif  // HEAPA_TOOLS_FLAG_CHECKS_H_
