// storage::Batch: the record changes of one pool operation, applied atomically by Store::Write.
//
// Wraps a RocksDB WriteBatch without exposing RocksDB to callers. Not thread-safe: one batch
// is built by one thread.
#ifndef HEAPA_STORAGE_BATCH_H_
#define HEAPA_STORAGE_BATCH_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

namespace rocksdb {
class WriteBatch;
}

namespace heapa::storage {

class Batch {
 public:
  Batch();
  ~Batch();
  Batch(Batch&&) noexcept;
  Batch& operator=(Batch&&) noexcept;
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  // Later operations on the same key win, as in RocksDB.
  void Put(std::string_view key, std::string_view value);
  void Delete(std::string_view key);

  // Appends every operation of `other`, in order, after this batch's own.
  void Append(const Batch& other);

  // Calls fn(key, value) for each operation in order; value is nullopt for a Delete. Views
  // are valid only during the call.
  using VisitFn = std::function<void(std::string_view key, std::optional<std::string_view> value)>;
  void ForEach(const VisitFn& fn) const;

  // Number of operations and bytes of the encoded batch.
  size_t count() const;
  size_t bytes() const;

  rocksdb::WriteBatch* rep() { return rep_.get(); }

 private:
  std::unique_ptr<rocksdb::WriteBatch> rep_;
};

}  // namespace heapa::storage

#endif  // HEAPA_STORAGE_BATCH_H_
