// storage::Store on damaged files: every damage is reported or harmless, never a wrong answer.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "storage/keys.h"
#include "storage/store.h"
#include "tests/testutil/store_util.h"
#include "tests/testutil/test_util.h"

namespace heapa::storage {
namespace {

using Code = Status::Code;
using testing::CreateStoreOptions;
using testing::KeyValuePairs;
using testing::KeyValues;
using testing::OpenStoreOrDie;
using testing::RandomStates;
using testing::ScanInto;
using testing::SstFiles;
using testing::WriteAll;
namespace fs = std::filesystem;

// Writes `kvs` into a new store in `dir` and leaves them in SST files: Close alone leaves
// them in the WAL (see the Close test below); the reopen replays the WAL into an SST.
void BuildSstStore(const std::string& dir, const KeyValues& kvs) {
  WriteAll(OpenStoreOrDie(dir, CreateStoreOptions()).get(), kvs);
  HEAPA_REQUIRE_OK(OpenStoreOrDie(dir)->Close());
  REQUIRE_FALSE(SstFiles(dir).empty());
}

void XorBytes(const fs::path& file, size_t offset, size_t count) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f.good());
  std::string bytes(count, '\0');
  f.seekg(static_cast<std::streamoff>(offset));
  f.read(bytes.data(), static_cast<std::streamsize>(count));
  for (char& c : bytes) c = static_cast<char>(c ^ 0x5a);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(bytes.data(), static_cast<std::streamsize>(count));
  REQUIRE(f.good());
}

// Opens a damaged store and scans it: an error must be Corruption or IOError and an OK scan
// must return exactly `kvs`. Returns true when the damage was reported.
bool DamageReported(const std::string& dir, const KeyValues& kvs) {
  auto store = Store::Open(dir, {});
  Status s = store.status();
  KeyValuePairs seen;
  if (s.ok()) s = ScanInto(**store, "", &seen);
  INFO(s.ToString());
  if (!s.ok()) {
    CHECK((s.code() == Code::kCorruption || s.code() == Code::kIOError));
    return true;
  }
  CHECK(KeyValues(seen.begin(), seen.end()) == kvs);
  return false;
}

}  // namespace

TEST_SUITE("storage/store") {
  TEST_CASE("a corrupted SST data block fails Open or Scan with Corruption") {
    heapa::testing::TempDir tmp;
    const KeyValues kvs = RandomStates(2000, heapa::testing::TestSeed("store corrupt sst"));
    BuildSstStore(tmp.path(), kvs);
    for (const fs::path& sst : SstFiles(tmp.path())) XorBytes(sst, fs::file_size(sst) / 2, 16);
    auto store = Store::Open(tmp.path(), {});
    Status s = store.status();
    KeyValuePairs seen;
    if (s.ok()) s = ScanInto(**store, "", &seen);
    INFO(s.ToString());
    CHECK(s.code() == Code::kCorruption);
    for (const auto& [k, v] : seen) CHECK(kvs.at(k) == v);  // what was returned is intact
  }

  TEST_CASE("a byte flipped anywhere in an SST is reported or leaves every key intact") {
    heapa::testing::TempDir tmp;
    const KeyValues kvs = RandomStates(300, heapa::testing::TestSeed("store sst sweep"));
    const std::string pristine = tmp.Sub("pristine");
    BuildSstStore(pristine, kvs);
    const std::vector<fs::path> ssts = SstFiles(pristine);
    REQUIRE(ssts.size() == 1);
    const size_t size = fs::file_size(ssts[0]);
    int reported = 0;
    constexpr int kSamples = 32;
    for (int i = 0; i < kSamples; ++i) {
      const size_t offset = i == kSamples - 1 ? size - 1 : size * i / kSamples;
      CAPTURE(offset);
      const std::string dir = tmp.Sub("copy" + std::to_string(i));
      fs::copy(pristine, dir);
      XorBytes(dir / ssts[0].filename(), offset, 1);
      reported += DamageReported(dir, kvs);
      fs::remove_all(dir);
    }
    CHECK(reported >= kSamples * 3 / 4);
  }

  TEST_CASE("a truncated or missing SST fails Open") {
    heapa::testing::TempDir tmp;
    const KeyValues kvs = RandomStates(300, 3);
    BuildSstStore(tmp.path(), kvs);
    const fs::path sst = SstFiles(tmp.path())[0];
    fs::resize_file(sst, fs::file_size(sst) - 100);
    const Status truncated = Store::Open(tmp.path(), {}).status();
    INFO(truncated.ToString());
    CHECK(truncated.code() == Code::kCorruption);
    fs::remove(sst);
    const Status missing = Store::Open(tmp.path(), {}).status();
    INFO(missing.ToString());
    CHECK_FALSE(missing.ok());
    CHECK(missing.message().find(sst.stem().string()) != std::string_view::npos);
  }
}

}  // namespace heapa::storage
