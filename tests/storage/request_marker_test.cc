// storage/request_marker.h: the markers that make admin requests exactly once.
#include "storage/request_marker.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/testutil/test_util.h"

namespace heapa::storage {
namespace {

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

bool Has(const std::string& dir, const char* marker, RequestId id) {
  const Result<bool> r = HasRequestMarker(dir, marker, id);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return *r;
}

}  // namespace

TEST_SUITE("storage/request_marker") {
  TEST_CASE("a marker names its requests, survives, and is replaced by the next") {
    heapa::testing::TempDir tmp;
    const std::string dir = tmp.path();
    const RequestId a{7, 42}, b{7, 43}, c{8, 42};
    CHECK_FALSE(Has(dir, kCreatedByMarker, a));  // no file
    HEAPA_REQUIRE_OK(WriteRequestMarker(dir, kCreatedByMarker, a));
    CHECK(Has(dir, kCreatedByMarker, a));
    CHECK_FALSE(Has(dir, kCreatedByMarker, b));
    CHECK_FALSE(Has(dir, kCreatedByMarker, c));
    CHECK_FALSE(Has(dir, kDroppedByMarker, a));  // another marker's file
    HEAPA_REQUIRE_OK(WriteRequestMarker(dir, kCreatedByMarker, b));
    CHECK(Has(dir, kCreatedByMarker, b));
    CHECK_FALSE(Has(dir, kCreatedByMarker, a));
    // Several ids, in order, up to kMaxMarkerIds.
    std::vector<RequestId> many;
    for (uint64_t i = 1; i <= kMaxMarkerIds; ++i) many.push_back({UINT64_MAX, i});
    HEAPA_REQUIRE_OK(WriteRequestMarker(dir, kRestoredByMarker, many));
    auto read = ReadRequestMarker(dir, kRestoredByMarker);
    REQUIRE(read.ok());
    CHECK(*read == many);
    CHECK(Has(dir, kRestoredByMarker, {UINT64_MAX, kMaxMarkerIds}));
    many.push_back({1, 1});
    CHECK(WriteRequestMarker(dir, kRestoredByMarker, many).code() ==
          Status::Code::kInvalidArgument);
    CHECK(WriteRequestMarker(dir, kRestoredByMarker, std::span<const RequestId>()).code() ==
          Status::Code::kInvalidArgument);
  }

  TEST_CASE("anonymous requests are never marked and never match") {
    heapa::testing::TempDir tmp;
    const std::string dir = tmp.path();
    CHECK(WriteRequestMarker(dir, kCreatedByMarker, {0, 5}).code() ==
          Status::Code::kInvalidArgument);
    CHECK(WriteRequestMarker(dir, kCreatedByMarker, {5, 0}).code() ==
          Status::Code::kInvalidArgument);
    CHECK_FALSE(std::filesystem::exists(std::filesystem::path(dir) / kCreatedByMarker));
    WriteFile(dir + "/" + kCreatedByMarker, "garbage");  // not even read for an anonymous id
    CHECK_FALSE(Has(dir, kCreatedByMarker, {0, 0}));
  }

  TEST_CASE("only the exact text is a marker") {
    CHECK(ParseRequestMarker("client 1 request 2\n") == std::vector<RequestId>{{1, 2}});
    CHECK(ParseRequestMarker("client 18446744073709551615 request 9\nclient 3 request 4\n") ==
          std::vector<RequestId>{{UINT64_MAX, 9}, {3, 4}});
    for (const char* bad :
         {"", "client 1 request 2", "client 1 request 2\n\n", "client 1 request 2 \n",
          "client  1 request 2\n", "client 01 request 2\n", "client 0 request 2\n",
          "client 1 request 0\n", "client -1 request 2\n", "client +1 request 2\n",
          "client 18446744073709551616 request 2\n", "Client 1 request 2\n", "client 1 req 2\n",
          "client 1x request 2\n", "client 1 request 2\nclient 3 request\n"}) {
      CAPTURE(bad);
      CHECK_FALSE(ParseRequestMarker(bad).has_value());
    }
    CHECK_FALSE(ParseRequestMarker(std::string_view("client 1\0 request 2\n", 20)).has_value());
    std::string too_many;
    for (size_t i = 0; i <= kMaxMarkerIds; ++i) too_many += "client 1 request 2\n";
    CHECK_FALSE(ParseRequestMarker(too_many).has_value());
  }

  TEST_CASE("a damaged marker is Corruption, never a match or a miss") {
    heapa::testing::TempDir tmp;
    const std::string dir = tmp.path();
    const std::string path = dir + "/" + kCreatedByMarker;
    for (const std::string& bytes :
         {std::string("client 3 request 4"), "client 3 request 4\n" + std::string(1 << 20, 'x'),
          std::string()}) {
      WriteFile(path, bytes);
      CHECK(HasRequestMarker(dir, kCreatedByMarker, {3, 4}).status().code() ==
            Status::Code::kCorruption);
    }
    WriteFile(path, "client 3 request 4\n");
    CHECK(Has(dir, kCreatedByMarker, {3, 4}));
    std::filesystem::create_directory(dir + "/" + kDroppedByMarker);  // a directory, not a file
    CHECK(HasRequestMarker(dir, kDroppedByMarker, {3, 4}).status().code() ==
          Status::Code::kCorruption);
  }
}

}  // namespace heapa::storage
