// The digest of a pool's canonical state.
#include "index/pool.h"
#include "storage/committer.h"
#include "storage/digest.h"
#include "storage/keys.h"
#include "storage/records.h"
#include "storage/store.h"

namespace heapa {

Result<Hash128> Pool::Digest() const {
  storage::DigestBuilder d;
  // The index is hashed under the lock; the records are scanned after it, from a view of the
  // store taken under the lock too, so that operations go on during the long part.
  std::shared_ptr<storage::Store> store;  // outlives `view`
  std::unique_ptr<storage::Store::View> view;
  index::StatsList stats;  // copied under the lock (about 50 ms for 1M queries), by id
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!store_) return Status::Unavailable("pool is closed");
    // The view must hold every applied operation.
    HEAPA_RETURN_IF_ERROR(committer_->Drain());
    DigestIndex(&d);
    for (uint64_t id = 1; id < ix_->counters().next_id; ++id) {
      const std::string_view encoded = stats_.Encoded(id);
      if (!encoded.empty()) stats.Add(id, encoded);
    }
    store = store_;
    HEAPA_ASSIGN_OR_RETURN(view, store->NewView());
  }
  std::string value;
  auto family = [&](storage::KeyFamily f, auto canonical) {
    return view->Scan(storage::FamilyPrefix(f), [&](std::string_view key, std::string_view v) {
      d.Add(key);
      return canonical(key, v);
    });
  };
  HEAPA_RETURN_IF_ERROR(
      family(storage::KeyFamily::kQuery, [&](std::string_view key, std::string_view v) {
        storage::QueryRecord q;
        HEAPA_RETURN_IF_ERROR(storage::AtKey(storage::DecodeQuery(v, &q), key));
        q.created_ms = 0;
        storage::EncodeQuery(q, &value);
        d.Add(value);
        return Status::OK();
      }));
  // As the 'T' records of formats 2 to 4 were, in id order, each its key then the FlatBuffer
  // of formats 2 and 3: a pool's digest does not change when a newer build stores its
  // records differently.
  for (size_t i = 0; i < stats.size(); ++i) {
    storage::StatsRecord t;
    HEAPA_RETURN_IF_ERROR(storage::DecodeStats(stats.record(i), &t)
                              .WithContext("statistics of query " + std::to_string(stats.id(i))));
    d.Add(storage::StatsKey(stats.id(i)));
    t.last_report_lease = 0;
    t.recent_leases.clear();
    storage::EncodeStatsFormat3(t, &value);
    d.Add(value);
  }
  for (storage::KeyFamily f : {storage::KeyFamily::kEdge, storage::KeyFamily::kDedup}) {
    HEAPA_RETURN_IF_ERROR(family(f, [&](std::string_view, std::string_view v) {
      d.Add(v);
      return Status::OK();
    }));
  }
  return d.Finish();
}

void Pool::DigestIndex(storage::DigestBuilder* digest) const {
  storage::DigestBuilder& d = *digest;
  std::string value;
  d.Add("heapa-digest-v1");
  storage::EncodeConfig(config_, &value);
  d.Add(value);
  // Lease numbers and the durable sequence count deliveries, not pool state (Restore moves
  // them forward); wall-clock times depend on when, not what.
  storage::CountersRecord counters = ix_->counters();
  counters.durable_seq = 0;
  counters.next_lease = 1;
  counters.abandoned_leases_from = 0;
  counters.abandoned_leases_to = 0;
  counters.rng_state = ix_->rng().state();
  counters.rng_inc = ix_->rng().inc();
  storage::EncodeCounters(counters, &value);
  d.Add(value);
  for (uint64_t id = 1; id < counters.next_id; ++id) {
    storage::StateRecord st = ix_->Find(id)->ToRecord();
    st.lease = 0;
    st.lease_deadline_ms = 0;
    storage::EncodeState(st, &value);
    d.AddU64(id);
    d.Add(value);
  }
}

}  // namespace heapa
