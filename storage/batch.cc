#include "storage/batch.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "storage/check.h"

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

bool Batch::RetractPut(std::string_view key) {
  const std::string_view data(data_);
  for (auto it = ops_.rbegin(); it != ops_.rend(); ++it) {
    if (data.substr(it->key_offset, it->key_size) != key) continue;
    if (it->is_delete) return false;
    ops_.erase(std::next(it).base());  // its bytes stay in data_, as Compact leaves them
    return true;
  }
  return false;
}

void Batch::Reserve(size_t bytes, size_t count) {
  data_.reserve(bytes);
  ops_.reserve(count);
}

void Batch::Append(const Batch& other) {
  HEAPA_CHECK(&other != this);  // `from` would dangle once data_ grows
  // Operation by operation: the bytes a RetractPut left behind in `other` are not copied.
  const std::string_view from(other.data_);
  for (const Op& op : other.ops_) {
    ops_.push_back(Op{data_.size(), op.key_size, op.value_size, op.is_delete});
    data_.append(from.substr(op.key_offset, op.key_size + op.value_size));
  }
}

void Batch::Compact() {
  const std::string_view data(data_);
  auto key = [&](const Op& op) { return data.substr(op.key_offset, op.key_size); };
  // Stable: the operations on one key stay in their order, and the last of them is kept.
  std::stable_sort(ops_.begin(), ops_.end(),
                   [&](const Op& a, const Op& b) { return key(a) < key(b); });
  size_t kept = 0;
  for (size_t i = 0; i < ops_.size(); ++i) {
    if (i + 1 == ops_.size() || key(ops_[i]) != key(ops_[i + 1])) ops_[kept++] = ops_[i];
  }
  ops_.resize(kept);
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
