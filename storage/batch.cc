#include "storage/batch.h"

#include <unordered_set>

namespace heapa::storage {

void Batch::Put(std::string_view key, std::string_view value) {
  ops_.push_back(Op{data_.size(), key.size(), value.size(), false});
  data_.append(key);
  data_.append(value);
}

void Batch::Delete(std::string_view key) {
  ops_.push_back(Op{data_.size(), key.size(), 0, true});
  data_.append(key);
}

void Batch::Append(const Batch& other) {
  const size_t shift = data_.size();
  data_.append(other.data_);
  ops_.reserve(ops_.size() + other.ops_.size());
  for (Op op : other.ops_) {
    op.key_offset += shift;
    ops_.push_back(op);
  }
}

void Batch::DropOverwritten() {
  const std::string_view data(data_);
  std::unordered_set<std::string_view> later;
  later.reserve(ops_.size());
  std::vector<Op> kept;
  kept.reserve(ops_.size());
  for (auto it = ops_.rbegin(); it != ops_.rend(); ++it) {
    if (later.insert(data.substr(it->key_offset, it->key_size)).second) kept.push_back(*it);
  }
  if (kept.size() == ops_.size()) return;
  ops_.assign(kept.rbegin(), kept.rend());
}

void Batch::ForEach(const VisitFn& fn) const {
  const std::string_view data(data_);
  for (const Op& op : ops_) {
    const std::string_view key = data.substr(op.key_offset, op.key_size);
    if (op.is_delete) {
      fn(key, std::nullopt);
    } else {
      fn(key, data.substr(op.key_offset + op.key_size, op.value_size));
    }
  }
}

}  // namespace heapa::storage
