// index::IdBitmap: a set of query ids as one bit per id, iterated in ascending id order.
//
// For a set that is only ever ordered by id (the archive): insert and erase are O(1) and touch
// one word, where a balanced tree of a million entries walks twenty nodes that are mostly not
// in the processor's cache. Iteration is O(highest id / 64). Memory is one bit per id up to the
// highest id ever inserted.
//
// Thread safety: none; the owner synchronizes.
#ifndef HEAPA_INDEX_ID_BITMAP_H_
#define HEAPA_INDEX_ID_BITMAP_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <vector>

namespace heapa::index {

class IdBitmap {
 public:
  // Adds `id`. Returns false (and changes nothing) when it is already present.
  bool Insert(uint64_t id);
  // Removes `id`. Returns false when it was not present.
  bool Erase(uint64_t id);
  bool Contains(uint64_t id) const;
  // Removes every id; keeps the memory.
  void clear();

  size_t size() const { return size_; }
  // Bytes of memory held.
  size_t MemoryBytes() const { return words_.capacity() * sizeof(uint64_t); }
  bool empty() const { return size_ == 0; }

  // A forward iterator over the ids, ascending. Invalidated by any change to the set.
  class Iterator {
   public:
    // A forward iterator whose reference is a value (the id): an input iterator to the
    // classic algorithms, a forward one to C++20's.
    using iterator_category = std::input_iterator_tag;
    using iterator_concept = std::forward_iterator_tag;
    using value_type = uint64_t;
    using difference_type = std::ptrdiff_t;
    using pointer = const uint64_t*;
    using reference = uint64_t;

    Iterator() = default;
    uint64_t operator*() const {
      return word_ * 64 + static_cast<uint64_t>(std::countr_zero(bits_));
    }
    Iterator& operator++();
    Iterator operator++(int) {
      Iterator old = *this;
      ++*this;
      return old;
    }
    bool operator==(const Iterator& o) const { return word_ == o.word_ && bits_ == o.bits_; }

   private:
    friend class IdBitmap;
    Iterator(const std::vector<uint64_t>* words, size_t word);
    void SkipEmptyWords();

    const std::vector<uint64_t>* words_ = nullptr;
    size_t word_ = 0;    // index of the current word; words_->size() at the end
    uint64_t bits_ = 0;  // the current word's bits not yet visited
  };

  Iterator begin() const { return Iterator(&words_, 0); }
  Iterator end() const { return Iterator(&words_, words_.size()); }

 private:
  std::vector<uint64_t> words_;  // bit (id % 64) of words_[id / 64]
  size_t size_ = 0;
};

}  // namespace heapa::index

#endif  // HEAPA_INDEX_ID_BITMAP_H_
