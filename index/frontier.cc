#include "index/frontier.h"

#include <algorithm>

#include "storage/check.h"

namespace heapa::index {

storage::StateRecord Entry::ToRecord() const {
  storage::StateRecord r;
  r.state = state;
  r.prev_state = prev_state;
  r.has_reward = has_reward;
  r.reward = has_reward ? reward : 0;
  r.seq = seq;
  r.times_sampled = times_sampled;
  r.lease = lease;
  r.lease_deadline_ms = lease_deadline_ms;
  return r;
}

FrontierIndex::FrontierIndex() = default;

FrontierIndex::~FrontierIndex() {
  // Unlink before the entries' memory goes away.
  low_.clear();
  high_.clear();
  cold_.clear();
  in_flight_.clear();
  pending_.clear();
}

Entry& FrontierIndex::Slot(uint64_t id) {
  HEAPA_CHECK(id >= 1);
  while (id > capacity_ids_) {
    chunks_.push_back(std::make_unique<Entry[]>(kChunkSize));
    capacity_ids_ += kChunkSize;
  }
  return chunks_[(id - 1) >> kChunkBits][(id - 1) & (kChunkSize - 1)];
}

Entry* FrontierIndex::Find(uint64_t id) {
  if (id == 0 || id > capacity_ids_) return nullptr;
  Entry& e = chunks_[(id - 1) >> kChunkBits][(id - 1) & (kChunkSize - 1)];
  return e.id == id ? &e : nullptr;
}

const Entry* FrontierIndex::Find(uint64_t id) const {
  return const_cast<FrontierIndex*>(this)->Find(id);
}

namespace {

// Orders entries against a bare reward, for finding the oldest entry of a reward class.
struct RewardKeyLess {
  bool operator()(const Entry& e, double r) const { return e.reward < r; }
  bool operator()(double r, const Entry& e) const { return r < e.reward; }
};

template <typename Set>
Entry& OldestOfLargestReward(Set& set) {
  HEAPA_CHECK(!set.empty());
  return *set.lower_bound(set.rbegin()->reward, RewardKeyLess());
}

}  // namespace

Entry& FrontierIndex::LowMax() { return OldestOfLargestReward(low_); }
Entry& FrontierIndex::HighMax() { return OldestOfLargestReward(high_); }

void FrontierIndex::Link(Entry& e) {
  bool inserted = true;
  switch (e.state) {
    case QueryState::kCold:
      inserted = cold_.insert(e).second;
      break;
    case QueryState::kLow:
      inserted = low_.insert(e).second;
      break;
    case QueryState::kHigh:
      inserted = high_.insert(e).second;
      break;
    case QueryState::kInFlight:
      inserted = in_flight_.insert(e).second;
      break;
    case QueryState::kArchived:
      inserted = archived_.Insert(e.id);
      break;
    case QueryState::kPending:
      inserted = pending_.insert(e).second;
      break;
    case QueryState::kRejected:
    case QueryState::kEvicted:
      break;
  }
  HEAPA_CHECK(inserted);  // keys are unique: seq and id never repeat
  e.attached = true;
  ++counts_[static_cast<size_t>(e.state)];
}

void FrontierIndex::Unlink(Entry& e) {
  switch (e.state) {
    case QueryState::kCold:
      cold_.erase(cold_.iterator_to(e));
      break;
    case QueryState::kLow:
      low_.erase(low_.iterator_to(e));
      break;
    case QueryState::kHigh:
      high_.erase(high_.iterator_to(e));
      break;
    case QueryState::kInFlight:
      in_flight_.erase(in_flight_.iterator_to(e));
      break;
    case QueryState::kArchived:
      HEAPA_CHECK(archived_.Erase(e.id));
      break;
    case QueryState::kPending:
      pending_.erase(pending_.iterator_to(e));
      break;
    case QueryState::kRejected:
    case QueryState::kEvicted:
      break;
  }
  e.attached = false;
  --counts_[static_cast<size_t>(e.state)];
}

void FrontierIndex::Begin() {
  HEAPA_CHECK(!in_txn_);
  in_txn_ = true;
  saved_counters_ = counters_;
  saved_rng_ = rng_;
}

void FrontierIndex::Touch(Entry& e) {
  HEAPA_CHECK(in_txn_);
  if (e.touched) return;
  e.touched = true;
  saved_.push_back(e);  // the hook is not copied: the copy is unlinked
}

Entry& FrontierIndex::Create() {
  HEAPA_CHECK(in_txn_);
  const uint64_t id = counters_.next_id++;
  Entry& e = Slot(id);
  HEAPA_CHECK(e.id == 0);
  e.id = id;
  e.state = QueryState::kEvicted;
  e.touched = true;
  created_.push_back(id);
  return e;  // detached; Attach() links it
}

void FrontierIndex::Detach(Entry& e) {
  Touch(e);
  HEAPA_CHECK(e.attached);
  Unlink(e);
}

void FrontierIndex::Attach(Entry& e, QueryState state) {
  HEAPA_CHECK(in_txn_ && e.touched && !e.attached);
  e.state = state;
  Link(e);
}

std::vector<uint64_t> FrontierIndex::Touched() const {
  HEAPA_CHECK(in_txn_);
  std::vector<uint64_t> ids;
  ids.reserve(saved_.size() + created_.size());
  for (const Entry& old : saved_) ids.push_back(old.id);
  ids.insert(ids.end(), created_.begin(), created_.end());
  std::sort(ids.begin(), ids.end());
  return ids;
}

void FrontierIndex::Commit() {
  HEAPA_CHECK(in_txn_);
  for (const Entry& old : saved_) Find(old.id)->touched = false;
  for (uint64_t id : created_) Find(id)->touched = false;
  saved_.clear();
  created_.clear();
  in_txn_ = false;
}

void FrontierIndex::Rollback() {
  HEAPA_CHECK(in_txn_);
  // Unlink everything the transaction touched first, then relink the saved copies: relinking
  // one entry before another is unlinked could collide on a reused key.
  auto unlink_if_linked = [this](Entry& e) {
    if (e.attached) Unlink(e);
  };
  for (const Entry& old : saved_) unlink_if_linked(*Find(old.id));
  for (uint64_t id : created_) unlink_if_linked(*Find(id));
  for (const Entry& old : saved_) {
    Entry& e = *Find(old.id);
    e.reward = old.reward;
    e.seq = old.seq;
    e.lease = old.lease;
    e.lease_deadline_ms = old.lease_deadline_ms;
    e.times_sampled = old.times_sampled;
    e.state = old.state;
    e.prev_state = old.prev_state;
    e.has_reward = old.has_reward;
    e.touched = false;
    Link(e);
  }
  for (uint64_t id : created_) {
    Entry& e = *Find(id);
    e = Entry();
  }
  saved_.clear();
  created_.clear();
  counters_ = saved_counters_;
  rng_ = saved_rng_;
  in_txn_ = false;
}

void FrontierIndex::Load(uint64_t id, const storage::StateRecord& rec) {
  HEAPA_CHECK(!in_txn_);
  Entry& e = Slot(id);
  HEAPA_CHECK(e.id == 0);
  e.id = id;
  e.reward = rec.reward;
  e.has_reward = rec.has_reward;
  e.seq = rec.seq;
  e.lease = rec.lease;
  e.lease_deadline_ms = rec.lease_deadline_ms;
  e.times_sampled = rec.times_sampled;
  e.state = rec.state;
  e.prev_state = rec.prev_state;
}

Status FrontierIndex::FinishLoad() {
  // Collect per state, sort by each set's order, and append with an end() hint: O(n log n)
  // for the sort and amortized O(1) per insertion.
  std::vector<Entry*> by_state[storage::kMaxQueryState + 1];
  for (auto& chunk : chunks_) {
    for (size_t i = 0; i < kChunkSize; ++i) {
      Entry& e = chunk[i];
      if (e.id != 0 && !e.attached) by_state[static_cast<size_t>(e.state)].push_back(&e);
    }
  }
  uint64_t duplicate = 0;
  auto append = [&](auto& set, std::vector<Entry*>& entries, auto less, QueryState state) {
    std::sort(entries.begin(), entries.end(), [&](Entry* a, Entry* b) { return less(*a, *b); });
    for (size_t i = 0; i < entries.size(); ++i) {
      // Sorted: equal keys are neighbours. A set holds each key once.
      if (i > 0 && !less(*entries[i - 1], *entries[i])) {
        if (duplicate == 0) duplicate = entries[i]->id;
        continue;
      }
      set.insert(set.end(), *entries[i]);
      entries[i]->attached = true;
      ++counts_[static_cast<size_t>(state)];
    }
  };
  append(low_, by_state[static_cast<size_t>(QueryState::kLow)], ByRewardSeq(), QueryState::kLow);
  append(high_, by_state[static_cast<size_t>(QueryState::kHigh)], ByRewardSeq(), QueryState::kHigh);
  append(cold_, by_state[static_cast<size_t>(QueryState::kCold)], BySeq(), QueryState::kCold);
  append(in_flight_, by_state[static_cast<size_t>(QueryState::kInFlight)], ByDeadline(),
         QueryState::kInFlight);
  for (Entry* e : by_state[static_cast<size_t>(QueryState::kArchived)]) {
    HEAPA_CHECK(archived_.Insert(e->id));  // ids are unique: Load() takes each once
    e->attached = true;
    ++counts_[static_cast<size_t>(QueryState::kArchived)];
  }
  append(pending_, by_state[static_cast<size_t>(QueryState::kPending)], ById(),
         QueryState::kPending);
  if (duplicate != 0) {
    return Status::Corruption("query " + std::to_string(duplicate) +
                              " has the same ordering key (seq) as another query");
  }
  for (QueryState s : {QueryState::kEvicted, QueryState::kRejected}) {
    for (Entry* e : by_state[static_cast<size_t>(s)]) e->attached = true;
    counts_[static_cast<size_t>(s)] += by_state[static_cast<size_t>(s)].size();
  }
  return Status::OK();
}

size_t FrontierIndex::MemoryBytes() const {
  return chunks_.size() * (kChunkSize * sizeof(Entry) + sizeof(std::unique_ptr<Entry[]>)) +
         archived_.MemoryBytes();
}

}  // namespace heapa::index
