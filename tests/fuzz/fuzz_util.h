// Shared by the fuzz targets: a failing check that stops the process (so that libFuzzer and the
// corpus replay both report it), and a reader that turns fuzz bytes into choices.
//
// No FuzzedDataProvider: the targets also build with gcc as plain replay binaries.
#ifndef HEAPA_TESTS_FUZZ_FUZZ_UTIL_H_
#define HEAPA_TESTS_FUZZ_FUZZ_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

// Every fuzz target defines this (libFuzzer's entry point; replay_main.cc calls it too).
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace heapa::fuzz {

[[noreturn]] inline void Fail(const char* file, int line, const std::string& what) {
  std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", file, line, what.c_str());
  std::fflush(stderr);
  std::abort();
}

#define HEAPA_FUZZ_CHECK(cond, what)                                     \
  do {                                                                   \
    if (!(cond)) ::heapa::fuzz::Fail(__FILE__, __LINE__, #cond ": " + std::string(what)); \
  } while (0)

// Consumes fuzz bytes from the front; past the end every read returns 0 / empty.
class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  bool empty() const { return pos_ >= size_; }
  size_t remaining() const { return empty() ? 0 : size_ - pos_; }

  uint8_t U8() { return empty() ? 0 : data_[pos_++]; }
  uint16_t U16() { return static_cast<uint16_t>(U8() | (U8() << 8)); }
  uint32_t U32() { return static_cast<uint32_t>(U16()) | (static_cast<uint32_t>(U16()) << 16); }
  uint64_t U64() { return static_cast<uint64_t>(U32()) | (static_cast<uint64_t>(U32()) << 32); }
  // Uniform enough in [0, n); n > 0.
  uint64_t Below(uint64_t n) { return (n <= 256 ? U8() : U32()) % n; }
  bool Chance(unsigned percent) { return Below(100) < percent; }
  std::string_view Take(size_t n) {
    if (n > remaining()) n = remaining();
    std::string_view out(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return out;
  }
  std::string_view Rest() { return Take(remaining()); }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace heapa::fuzz

#endif  // HEAPA_TESTS_FUZZ_FUZZ_UTIL_H_
