#include "tests/testutil/store_util.h"

#include <doctest/doctest.h>

#include <random>

#include "storage/batch.h"
#include "storage/keys.h"
#include "tests/testutil/test_util.h"

namespace heapa::testing {

storage::StoreOptions CreateStoreOptions(bool sync) {
  storage::StoreOptions options;
  options.create_if_missing = true;
  options.sync = sync;
  return options;
}

std::unique_ptr<storage::Store> OpenStoreOrDie(const std::string& dir,
                                               const storage::StoreOptions& options) {
  auto store = storage::Store::Open(dir, options);
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  return std::move(store).value();
}

void WriteAll(storage::Store* store, const KeyValues& kvs) {
  storage::Batch batch;
  for (const auto& [k, v] : kvs) batch.Put(k, v);
  HEAPA_REQUIRE_OK(store->Write(&batch));
}

Status ScanInto(const storage::Store& store, std::string_view prefix, KeyValuePairs* out) {
  return store.Scan(prefix, [out](std::string_view k, std::string_view v) {
    out->emplace_back(k, v);
    return Status::OK();
  });
}

KeyValues RandomStates(int count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  KeyValues kvs;
  for (int i = 0; i < count; ++i) {
    std::string value(200, '\0');
    for (char& ch : value) ch = static_cast<char>(rng());
    kvs[storage::JournalKey(static_cast<uint64_t>(i) * 37)] = value;
  }
  return kvs;
}

std::vector<std::filesystem::path> SstFiles(const std::string& dir) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".sst") out.push_back(e.path());
  }
  return out;
}

}  // namespace heapa::testing
