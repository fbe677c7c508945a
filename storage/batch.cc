#include "storage/batch.h"

#include <rocksdb/write_batch.h>

#include "storage/check.h"

namespace heapa::storage {
namespace {

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
std::string_view ToView(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

// Replays a WriteBatch as (key, value-or-delete) calls. Batch only ever holds Put and Delete
// in the default column family; anything else is a bug.
class Visitor final : public rocksdb::WriteBatch::Handler {
 public:
  explicit Visitor(const Batch::VisitFn& fn) : fn_(fn) {}
  rocksdb::Status PutCF(uint32_t cf, const rocksdb::Slice& key,
                        const rocksdb::Slice& value) override {
    HEAPA_CHECK(cf == 0);
    fn_(ToView(key), ToView(value));
    return rocksdb::Status::OK();
  }
  rocksdb::Status DeleteCF(uint32_t cf, const rocksdb::Slice& key) override {
    HEAPA_CHECK(cf == 0);
    fn_(ToView(key), std::nullopt);
    return rocksdb::Status::OK();
  }

 private:
  const Batch::VisitFn& fn_;
};

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

void Batch::Append(const Batch& other) {
  other.ForEach([this](std::string_view key, std::optional<std::string_view> value) {
    if (value) {
      Put(key, *value);
    } else {
      Delete(key);
    }
  });
}

void Batch::ForEach(const VisitFn& fn) const {
  Visitor visitor(fn);
  HEAPA_CHECK(rep_->Iterate(&visitor).ok());
}

size_t Batch::count() const { return static_cast<size_t>(rep_->Count()); }
size_t Batch::bytes() const { return rep_->GetDataSize(); }

}  // namespace heapa::storage
