// The allocator that serves malloc (tools/allocator.h): jemalloc in this binary and in heapad
// when heapa is built with HEAPA_JEMALLOC (the default), the C library's malloc otherwise.
#include "tools/allocator.h"

#include <doctest/doctest.h>

#include <string>

#include "tests/testutil/daemon.h"
#include "tests/testutil/test_util.h"

namespace heapa {
namespace {

#ifdef HEAPA_WITH_JEMALLOC
constexpr bool kJemalloc = true;
#else
constexpr bool kJemalloc = false;
#endif

TEST_CASE("AllocatorDescription names the allocator that serves this binary's malloc") {
  const std::string description = AllocatorDescription();
  INFO("allocator: " << description);
  CHECK(JemallocServesMalloc() == kJemalloc);
  if (kJemalloc) {
    CHECK(description.starts_with("jemalloc 5."));
    CHECK(description.find("not serving") == std::string::npos);
  } else {
    CHECK(description == "the C library's malloc");
  }
}

TEST_CASE("heapad says which allocator serves its malloc, and it is the one it was built with") {
  testing::TempDir dir;
  testing::Daemon daemon(dir.path());
  INFO("heapad allocator: " << daemon.allocator());
  if (kJemalloc) {
    CHECK(daemon.allocator().starts_with("jemalloc 5."));
    CHECK(daemon.allocator().find("not serving") == std::string::npos);
  } else {
    CHECK(daemon.allocator() == "the C library's malloc");
  }
  CHECK(daemon.Stop() == 0);
}

}  // namespace
}  // namespace heapa
