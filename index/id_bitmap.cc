#include "index/id_bitmap.h"

#include <algorithm>

namespace heapa::index {

bool IdBitmap::Insert(uint64_t id) {
  const size_t w = id / 64;
  if (w >= words_.size()) {
    // Grow geometrically, to one bit past the highest id inserted so far.
    words_.resize(std::max(w + 1, words_.size() * 2), 0);
  }
  const uint64_t bit = uint64_t{1} << (id % 64);
  if (words_[w] & bit) return false;
  words_[w] |= bit;
  ++size_;
  return true;
}

bool IdBitmap::Erase(uint64_t id) {
  const size_t w = id / 64;
  const uint64_t bit = uint64_t{1} << (id % 64);
  if (w >= words_.size() || !(words_[w] & bit)) return false;
  words_[w] &= ~bit;
  --size_;
  return true;
}

bool IdBitmap::Contains(uint64_t id) const {
  const size_t w = id / 64;
  return w < words_.size() && (words_[w] >> (id % 64) & 1) != 0;
}

void IdBitmap::clear() {
  std::fill(words_.begin(), words_.end(), 0);
  size_ = 0;
}

IdBitmap::Iterator::Iterator(const std::vector<uint64_t>* words, size_t word)
    : words_(words), word_(word) {
  if (word_ < words_->size()) {
    bits_ = (*words_)[word_];
    SkipEmptyWords();
  }
}

void IdBitmap::Iterator::SkipEmptyWords() {
  while (bits_ == 0 && ++word_ < words_->size()) bits_ = (*words_)[word_];
  if (word_ >= words_->size()) {
    word_ = words_->size();
    bits_ = 0;
  }
}

IdBitmap::Iterator& IdBitmap::Iterator::operator++() {
  bits_ &= bits_ - 1;  // clear the lowest set bit: the id just visited
  SkipEmptyWords();
  return *this;
}

}  // namespace heapa::index
