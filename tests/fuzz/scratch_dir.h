// A fresh directory for one fuzz input, removed with everything in it on destruction. Lives
// under $HEAPA_TEST_TMPDIR, else $TMPDIR, else /tmp. (tests/testutil/test_util.h needs doctest.)
#ifndef HEAPA_TESTS_FUZZ_SCRATCH_DIR_H_
#define HEAPA_TESTS_FUZZ_SCRATCH_DIR_H_

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace heapa::fuzz {

class ScratchDir {
 public:
  ScratchDir() {
    static int counter = 0;
    const char* base = std::getenv("HEAPA_TEST_TMPDIR");
    if (base == nullptr) base = std::getenv("TMPDIR");
    const std::filesystem::path root = base ? base : "/tmp";
    path_ = (root / ("heapa-fuzz-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
                .string();
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace heapa::fuzz

#endif  // HEAPA_TESTS_FUZZ_SCRATCH_DIR_H_
