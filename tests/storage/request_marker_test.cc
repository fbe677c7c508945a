// storage/request_marker.h: the markers that make admin requests exactly once.
#include "storage/request_marker.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/testutil/test_util.h"

namespace heapa::storage {
namespace {

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

}  // namespace

TEST_SUITE("storage/request_marker") {
  TEST_CASE("a marker names one request, survives, and is replaced by the next") {
    heapa::testing::TempDir tmp;
    const std::string dir = tmp.path();
    const RequestId a{7, 42}, b{7, 43}, c{8, 42};
    CHECK_FALSE(HasRequestMarker(dir, kCreatedByMarker, a));  // no file
    HEAPA_REQUIRE_OK(WriteRequestMarker(dir, kCreatedByMarker, a));
    CHECK(HasRequestMarker(dir, kCreatedByMarker, a));
    CHECK_FALSE(HasRequestMarker(dir, kCreatedByMarker, b));
    CHECK_FALSE(HasRequestMarker(dir, kCreatedByMarker, c));
    CHECK_FALSE(HasRequestMarker(dir, kDroppedByMarker, a));  // another marker's file
    HEAPA_REQUIRE_OK(WriteRequestMarker(dir, kCreatedByMarker, b));
    CHECK(HasRequestMarker(dir, kCreatedByMarker, b));
    CHECK_FALSE(HasRequestMarker(dir, kCreatedByMarker, a));
    const RequestId max{UINT64_MAX, UINT64_MAX};
    HEAPA_REQUIRE_OK(WriteRequestMarker(dir, kRestoredByMarker, max));
    CHECK(HasRequestMarker(dir, kRestoredByMarker, max));
  }

  TEST_CASE("anonymous requests are never marked and never match") {
    heapa::testing::TempDir tmp;
    const std::string dir = tmp.path();
    CHECK(WriteRequestMarker(dir, kCreatedByMarker, {0, 5}).code() ==
          Status::Code::kInvalidArgument);
    CHECK(WriteRequestMarker(dir, kCreatedByMarker, {5, 0}).code() ==
          Status::Code::kInvalidArgument);
    CHECK_FALSE(std::filesystem::exists(std::filesystem::path(dir) / kCreatedByMarker));
    WriteFile(dir + "/" + kCreatedByMarker, "client 0 request 0\n");
    CHECK_FALSE(HasRequestMarker(dir, kCreatedByMarker, {0, 0}));
  }

  TEST_CASE("only the exact text is a marker") {
    CHECK(ParseRequestMarker("client 1 request 2\n") == RequestId{1, 2});
    CHECK(ParseRequestMarker("client 18446744073709551615 request 9\n") ==
          RequestId{UINT64_MAX, 9});
    for (const char* bad :
         {"", "client 1 request 2", "client 1 request 2\n\n", "client 1 request 2 \n",
          "client  1 request 2\n", "client 01 request 2\n", "client 0 request 2\n",
          "client 1 request 0\n", "client -1 request 2\n", "client +1 request 2\n",
          "client 18446744073709551616 request 2\n", "Client 1 request 2\n", "client 1 req 2\n",
          "client 1x request 2\n"}) {
      CAPTURE(bad);
      CHECK_FALSE(ParseRequestMarker(bad).has_value());
    }
    CHECK_FALSE(ParseRequestMarker(std::string_view("client 1\0 request 2\n", 20)).has_value());
    CHECK_FALSE(ParseRequestMarker("client 1 request 2\n" + std::string(100, ' ')).has_value());
  }

  TEST_CASE("a damaged or oversize marker file matches nothing") {
    heapa::testing::TempDir tmp;
    const std::string dir = tmp.path();
    const std::string path = dir + "/" + kCreatedByMarker;
    WriteFile(path, "client 3 request 4");  // torn: no newline
    CHECK_FALSE(HasRequestMarker(dir, kCreatedByMarker, {3, 4}));
    WriteFile(path, "client 3 request 4\n" + std::string(1 << 20, 'x'));
    CHECK_FALSE(HasRequestMarker(dir, kCreatedByMarker, {3, 4}));
    WriteFile(path, "client 3 request 4\n");
    CHECK(HasRequestMarker(dir, kCreatedByMarker, {3, 4}));
    std::filesystem::create_directory(dir + "/" + kDroppedByMarker);  // a directory, not a file
    CHECK_FALSE(HasRequestMarker(dir, kDroppedByMarker, {3, 4}));
  }
}

}  // namespace heapa::storage
