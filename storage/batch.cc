#include "storage/batch.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "storage/check.h"

namespace heapa::storage {

using Kind = Batch::Operation::Kind;

std::string_view Batch::KeyOf(const Op& op) const {
  return std::string_view(data_).substr(op.key_offset, op.key_size);
}

std::string_view Batch::ValueOf(const Op& op) const {
  return std::string_view(data_).substr(op.key_offset + op.key_size, op.value_size);
}

void Batch::Put(std::string_view key, std::string_view value) {
  ops_.push_back(Op{data_.size(), key.size(), value.size(), Kind::kPut});
  data_.append(key);
  data_.append(value);
}

void Batch::Delete(std::string_view key) {
  ops_.push_back(Op{data_.size(), key.size(), 0, Kind::kDelete});
  data_.append(key);
}

void Batch::DeleteRange(std::string_view begin, std::string_view end) {
  HEAPA_CHECK(begin < end);
  ops_.push_back(Op{data_.size(), begin.size(), end.size(), Kind::kDeleteRange});
  data_.append(begin);
  data_.append(end);
}

bool Batch::RetractPut(std::string_view key) {
  for (auto it = ops_.rbegin(); it != ops_.rend(); ++it) {
    if (it->kind == Kind::kDeleteRange || KeyOf(*it) != key) continue;
    if (it->kind == Kind::kDelete) return false;
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
    ops_.push_back(Op{data_.size(), op.key_size, op.value_size, op.kind});
    data_.append(from.substr(op.key_offset, op.key_size + op.value_size));
  }
}

void Batch::Compact() {
  // A Put or Delete that a later DeleteRange covers changes nothing: dropped, so that the
  // ranges can go first. Ranges are few (the pool retires request results in blocks).
  std::vector<Op> ranges;
  for (size_t i = ops_.size(); i-- > 0;) {
    const Op& op = ops_[i];
    if (op.kind == Kind::kDeleteRange) {
      ranges.push_back(op);
      continue;
    }
    const bool covered = std::any_of(ranges.begin(), ranges.end(), [&](const Op& r) {
      return KeyOf(r) <= KeyOf(op) && KeyOf(op) < ValueOf(r);
    });
    if (covered) ops_[i].kind = Kind::kDeleteRange;  // marked: removed below
  }
  std::erase_if(ops_, [](const Op& op) { return op.kind == Kind::kDeleteRange; });
  // Stable: the operations on one key stay in their order, and the last of them is kept.
  std::stable_sort(ops_.begin(), ops_.end(),
                   [&](const Op& a, const Op& b) { return KeyOf(a) < KeyOf(b); });
  size_t kept = 0;
  for (size_t i = 0; i < ops_.size(); ++i) {
    if (i + 1 == ops_.size() || KeyOf(ops_[i]) != KeyOf(ops_[i + 1])) ops_[kept++] = ops_[i];
  }
  ops_.resize(kept);
  ops_.insert(ops_.begin(), ranges.rbegin(), ranges.rend());  // in their order, first
}

void Batch::ForEach(const VisitFn& fn) const {
  for (const Op& op : ops_) fn(Operation{op.kind, KeyOf(op), ValueOf(op)});
}

}  // namespace heapa::storage
