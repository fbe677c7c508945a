#include "storage/committer.h"

#include <algorithm>
#include <utility>

#include "storage/check.h"
#include "storage/failpoint.h"
#include "storage/keys.h"
#include "storage/store.h"

namespace heapa::storage {

Committer::Committer(std::shared_ptr<Store> store, uint64_t durable_seq)
    : store_(std::move(store)), durable_seq_(durable_seq), last_seq_(durable_seq) {}

void Committer::Enqueue(uint64_t seq, Batch batch) {
  std::lock_guard<std::mutex> lock(mu_);
  EnqueueLocked(seq, std::move(batch));
}

Committer::Pending* Committer::FindQueued(uint64_t seq) {
  auto it = std::lower_bound(queue_.begin(), queue_.end(), seq,
                             [](const Pending& p, uint64_t s) { return p.seq < s; });
  return it != queue_.end() && it->seq == seq ? &*it : nullptr;
}

bool Committer::Queued(uint64_t seq) const {
  std::lock_guard<std::mutex> lock(mu_);
  return const_cast<Committer*>(this)->FindQueued(seq) != nullptr;
}

bool Committer::EnqueueFolding(uint64_t seq, Batch batch, uint64_t from, std::string_view key) {
  const Fold fold{from, key};
  std::vector<bool> removed;
  EnqueueFolding(seq, std::move(batch), std::span<const Fold>(&fold, 1), &removed);
  return removed[0];
}

void Committer::EnqueueFolding(uint64_t seq, Batch batch, std::span<const Fold> folds,
                               std::vector<bool>* removed) {
  std::lock_guard<std::mutex> lock(mu_);
  removed->assign(folds.size(), false);
  for (size_t i = 0; i < folds.size(); ++i) {
    const Fold& fold = folds[i];
    HEAPA_CHECK(fold.from < seq);
    Pending* earlier = FindQueued(fold.from);  // none after a failure: the queue is empty
    if (earlier == nullptr || !earlier->batch.RetractPut(fold.key)) continue;
    (*removed)[i] = true;
    if (!Overlaid(fold.key)) continue;  // the logs' journal records, the keys folded in practice
    auto it = overlay_.find(std::string(fold.key));
    if (it != overlay_.end() && it->second.seq == fold.from) overlay_.erase(it);
  }
  EnqueueLocked(seq, std::move(batch));
}

void Committer::EnqueueLocked(uint64_t seq, Batch batch) {
  HEAPA_CHECK(seq > last_seq_);
  last_seq_ = seq;
  if (!failure_.ok()) return;
  batch.ForEach([&](const Batch::Operation& op) {
    if (op.kind == Batch::Operation::Kind::kDeleteRange || !Overlaid(op.key)) return;
    OverlayValue& slot = overlay_[std::string(op.key)];
    slot.seq = seq;
    if (op.kind == Batch::Operation::Kind::kPut) {
      slot.value.emplace(op.value);
    } else {
      slot.value.reset();
    }
  });
  queue_.push_back(Pending{seq, std::move(batch)});
}

void Committer::WriteGroup(std::unique_lock<std::mutex>& lock, bool reluctant) {
  leader_ = true;
  reluctant_leader_ = reluctant;
  std::deque<Pending> group;
  group.swap(queue_);
  lock.unlock();
  // Batches are merged in sequence order, so a key written by several operations ends with
  // the last one's value, as if they had been written one after the other. Compact then
  // orders the group by key (after its range deletions): the operations' records, each at
  // random places in the key space (statistics, dedup hashes), reach the memtable in one
  // ascending sweep.
  Batch merged = std::move(group.front().batch);
  if (group.size() > 1) {
    size_t bytes = 0;
    size_t count = 0;
    for (const Pending& p : group) {
      bytes += p.batch.bytes();
      count += p.batch.count();
    }
    merged.Reserve(bytes, count);
    for (size_t i = 1; i < group.size(); ++i) merged.Append(group[i].batch);
    merged.Compact();
  }
  Failpoint("commit.before_write");
  Status s = store_->Write(&merged);
  if (s.ok()) Failpoint("commit.after_write");
  lock.lock();
  leader_ = false;
  reluctant_leader_ = false;
  ++counters_.writes;
  counters_.batches += group.size();
  counters_.max_group = std::max<uint64_t>(counters_.max_group, group.size());
  std::vector<DoneFn> decided;
  auto take_through = [&](uint64_t last) {
    auto end = callbacks_.upper_bound(last);
    for (auto it = callbacks_.begin(); it != end; ++it) decided.push_back(std::move(it->second));
    callbacks_.erase(callbacks_.begin(), end);
  };
  if (s.ok()) {
    durable_seq_ = group.back().seq;
    std::erase_if(overlay_, [&](const auto& kv) { return kv.second.seq <= durable_seq_; });
    take_through(durable_seq_);
  } else {
    failure_ = s;
    overlay_.clear();
    queue_.clear();
    take_through(last_seq_);
  }
  done_.notify_all();
  if (decided.empty()) return;
  lock.unlock();
  for (DoneFn& fn : decided) fn(s);
  decided.clear();  // what the callbacks hold goes before the lock is taken again
  lock.lock();
}

void Committer::LeadWhileUnattended(std::unique_lock<std::mutex>& lock, bool reluctant) {
  while (!leader_ && !queue_.empty() && failure_.ok() && waiters_ == 0) WriteGroup(lock, reluctant);
}

void Committer::AwaitGroup(std::unique_lock<std::mutex>& lock) {
  ++waiters_;
  done_.wait(lock);
  --waiters_;
}

Status Committer::Wait(uint64_t seq) {
  std::unique_lock<std::mutex> lock(mu_);
  HEAPA_CHECK(seq <= last_seq_);
  while (durable_seq_ < seq) {
    if (!failure_.ok()) return failure_;
    if (!leader_ && !queue_.empty()) {
      WriteGroup(lock, /*reluctant=*/false);
    } else {
      AwaitGroup(lock);
    }
  }
  // Batches queued behind ours may wait for callbacks only: write them, unless someone can
  // take over (a WhenDurable caller does, so that this caller is not kept writing for others).
  LeadWhileUnattended(lock, /*reluctant=*/true);
  return Status::OK();
}

void Committer::WhenDurable(uint64_t seq, DoneFn done) {
  std::unique_lock<std::mutex> lock(mu_);
  HEAPA_CHECK(seq <= last_seq_);
  if (durable_seq_ >= seq || !failure_.ok()) {
    const Status s = durable_seq_ >= seq ? Status::OK() : failure_;
    lock.unlock();
    done(s);
    return;
  }
  callbacks_.emplace(seq, std::move(done));
  if (leader_ && reluctant_leader_) {
    // The leader only writes for others, as a favour to a blocked caller: relieve it after
    // its group (it leaves once it sees a waiter).
    while (leader_) AwaitGroup(lock);
  }
  LeadWhileUnattended(lock, /*reluctant=*/false);
}

Status Committer::Drain() {
  std::unique_lock<std::mutex> lock(mu_);
  while (failure_.ok() && (leader_ || !queue_.empty())) {
    if (!leader_) {
      WriteGroup(lock, /*reluctant=*/false);
    } else {
      AwaitGroup(lock);
    }
  }
  return failure_;
}

bool Committer::Overlaid(std::string_view key) {
  if (key.empty()) return true;
  switch (key[0]) {
    case static_cast<char>(KeyFamily::kStateChunk):
    case static_cast<char>(KeyFamily::kJournal):
    case static_cast<char>(KeyFamily::kStatsChunk):
    case static_cast<char>(KeyFamily::kStatsJournal):
    case static_cast<char>(KeyFamily::kMeta):
    case static_cast<char>(KeyFamily::kEdge):
      return false;
    default:
      return true;
  }
}

Status Committer::Get(std::string_view key, std::string* value, uint64_t* pending_seq) const {
  if (pending_seq != nullptr) *pending_seq = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = overlay_.find(std::string(key));
    if (it != overlay_.end()) {
      if (!it->second.value) return Status::NotFound(DescribeKey(key) + " not found");
      *value = *it->second.value;
      if (pending_seq != nullptr) *pending_seq = it->second.seq;
      return Status::OK();
    }
  }
  // Not pending: durable in the store or absent. A batch enqueued from now on cannot matter
  // to a caller that serializes its reads and Enqueue calls (the pool, under its lock); one
  // that does not (the pool's text reads) reads only records that no batch changes.
  return store_->Get(key, value);
}

Result<std::optional<std::string>> Committer::LastKey(std::string_view prefix) const {
  std::optional<std::string> last;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [key, pending] : overlay_) {
      if (key.starts_with(prefix) && (!last || key > *last)) last = key;
    }
  }
  // A key leaves the overlay only after it is in the store: read the store second (as Get).
  HEAPA_ASSIGN_OR_RETURN(std::optional<std::string> stored, store_->LastKey(prefix));
  if (stored && (!last || *stored > *last)) last = std::move(stored);
  return last;
}

std::vector<Status> Committer::MultiGet(const std::vector<std::string>& keys,
                                        std::vector<std::string>* values) const {
  std::vector<Status> out(keys.size());
  values->assign(keys.size(), std::string());
  std::vector<size_t> misses;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < keys.size(); ++i) {
      auto it = overlay_.find(keys[i]);
      if (it == overlay_.end()) {
        misses.push_back(i);
      } else if (!it->second.value) {
        out[i] = Status::NotFound(DescribeKey(keys[i]) + " not found");
      } else {
        (*values)[i] = *it->second.value;
      }
    }
  }
  if (misses.empty()) return out;
  if (misses.size() == keys.size()) return store_->MultiGet(keys, values);
  std::vector<std::string> miss_keys;
  miss_keys.reserve(misses.size());
  for (size_t i : misses) miss_keys.push_back(keys[i]);
  std::vector<std::string> miss_values;
  std::vector<Status> miss_status = store_->MultiGet(miss_keys, &miss_values);
  for (size_t j = 0; j < misses.size(); ++j) {
    out[misses[j]] = std::move(miss_status[j]);
    (*values)[misses[j]] = std::move(miss_values[j]);
  }
  return out;
}

uint64_t Committer::durable_seq() const {
  std::lock_guard<std::mutex> lock(mu_);
  return durable_seq_;
}

Status Committer::failure() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failure_;
}

Committer::Counters Committer::counters() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counters_;
}

}  // namespace heapa::storage
