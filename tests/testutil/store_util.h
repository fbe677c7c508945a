// Helpers for tests of storage::Store and what is built on it: opening stores, writing and
// scanning plain key/value maps.
#ifndef HEAPA_TESTS_TESTUTIL_STORE_UTIL_H_
#define HEAPA_TESTS_TESTUTIL_STORE_UTIL_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/store.h"

namespace heapa::testing {

using KeyValues = std::map<std::string, std::string>;
using KeyValuePairs = std::vector<std::pair<std::string, std::string>>;

// Options that create the store when it does not exist; `sync` as StoreOptions::sync.
storage::StoreOptions CreateStoreOptions(bool sync = true);

// Opens the store in `dir` with `options`; fails the test (REQUIRE) when it cannot.
std::unique_ptr<storage::Store> OpenStoreOrDie(const std::string& dir,
                                               const storage::StoreOptions& options = {});

// Writes every key/value of `kvs` in one batch; fails the test when the write fails.
void WriteAll(storage::Store* store, const KeyValues& kvs);

// Appends every key and value under `prefix` to *out, in scan order; the Status of the scan.
Status ScanInto(const storage::Store& store, std::string_view prefix, KeyValuePairs* out);

// `count` journal keys with incompressible 200-byte values, so that an SST spans many blocks.
KeyValues RandomStates(int count, uint64_t seed);

// The SST files directly in `dir`.
std::vector<std::filesystem::path> SstFiles(const std::string& dir);

}  // namespace heapa::testing

#endif  // HEAPA_TESTS_TESTUTIL_STORE_UTIL_H_
