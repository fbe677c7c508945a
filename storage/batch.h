// storage::Batch: the record changes of one pool operation, applied atomically by Store::Write.
//
// A plain list of Put, Delete and DeleteRange operations in one buffer, with no RocksDB in it:
// the Store turns it into one RocksDB WriteBatch, routing each key to its column family
// (store.h).
// Not thread-safe: one batch is built by one thread.
#ifndef HEAPA_STORAGE_BATCH_H_
#define HEAPA_STORAGE_BATCH_H_

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace heapa::storage {

class Batch {
 public:
  Batch() = default;
  Batch(Batch&&) noexcept = default;
  Batch& operator=(Batch&&) noexcept = default;
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  // Later operations on the same key win, as in RocksDB.
  void Put(std::string_view key, std::string_view value);
  void Delete(std::string_view key);
  // Deletes every key in [begin, end), as RocksDB's DeleteRange: what the store holds and what
  // this batch's earlier operations put; later operations on keys in the range stand.
  // REQUIRES: begin < end. Store::Write takes ranges of request results ('R' keys) only.
  void DeleteRange(std::string_view begin, std::string_view end);

  // Removes the last Put or Delete of `key` as if it had never been added, when it is a Put;
  // returns whether it did (false: no operation on `key`, or a Delete last). The batch then
  // writes what it would have without that Put: an earlier operation on `key` wins, unless a
  // DeleteRange after it covers the key. O(operations after it).
  bool RetractPut(std::string_view key);

  // Appends every operation of `other`, in order, after this batch's own. REQUIRES: `other`
  // is another batch.
  void Append(const Batch& other);
  // Makes room for `bytes` of keys and values and `count` operations in all (before Appends).
  void Reserve(size_t bytes, size_t count);

  // Drops every Put and Delete that a later operation on the same key overwrites or a later
  // DeleteRange covers, and puts the DeleteRanges first, then the rest in key order: the
  // batch then writes the same final state with fewer records, in the order a RocksDB
  // memtable inserts fastest (each insert starts its search where the last one ended).
  // O(n log n + n * ranges).
  void Compact();

  // One operation, as ForEach shows it. Views are valid only during the call.
  struct Operation {
    enum class Kind { kPut, kDelete, kDeleteRange };
    Kind kind;
    std::string_view key;    // a DeleteRange's begin
    std::string_view value;  // a Put's value, a DeleteRange's end; empty for a Delete
  };
  // Calls fn for each operation in order.
  using VisitFn = std::function<void(const Operation&)>;
  void ForEach(const VisitFn& fn) const;

  // Number of operations, and bytes of keys and values (Compact and RetractPut leave the bytes
  // of the operations they drop in the count; Append copies only live operations).
  size_t count() const { return ops_.size(); }
  size_t bytes() const { return data_.size(); }

 private:
  struct Op {
    size_t key_offset;
    size_t key_size;
    size_t value_size;  // the value (a range's end) follows the key in data_
    Operation::Kind kind;
  };
  std::string_view KeyOf(const Op& op) const;
  std::string_view ValueOf(const Op& op) const;

  std::string data_;  // keys and values, back to back
  std::vector<Op> ops_;
};

}  // namespace heapa::storage

#endif  // HEAPA_STORAGE_BATCH_H_
