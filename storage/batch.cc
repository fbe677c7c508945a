#include "storage/batch.h"

#include <rocksdb/write_batch.h>

#include "storage/check.h"

namespace heapa::storage {
namespace {

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

}  // namespace

// protection_bytes_per_key=8: per-key checksums from the batch through the memtable
// (reliability-plan §5), so memory corruption is caught before it reaches the WAL.
Batch::Batch()
    : rep_(std::make_unique<rocksdb::WriteBatch>(/*reserved_bytes=*/0, /*max_bytes=*/0,
                                                 /*protection_bytes_per_key=*/8,
                                                 /*default_cf_ts_sz=*/0)) {}
Batch::~Batch() = default;
Batch::Batch(Batch&&) noexcept = default;
Batch& Batch::operator=(Batch&&) noexcept = default;

void Batch::Put(std::string_view key, std::string_view value) {
  HEAPA_CHECK(rep_->Put(ToSlice(key), ToSlice(value)).ok());
}

void Batch::Delete(std::string_view key) { HEAPA_CHECK(rep_->Delete(ToSlice(key)).ok()); }

size_t Batch::count() const { return static_cast<size_t>(rep_->Count()); }
size_t Batch::bytes() const { return rep_->GetDataSize(); }

}  // namespace heapa::storage
