// The only main of heapa_tests: doctest, or the crash-test child when asked (the child must be
// a fresh process, exec'ed, so that no RocksDB thread state is inherited through fork).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstring>

#include "tests/testutil/crash_child.h"

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], heapa::testing::kCrashChildFlag) == 0) {
    return heapa::testing::RunCrashChild(argc, argv);
  }
  doctest::Context context(argc, argv);
  return context.run();
}
