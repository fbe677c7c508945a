#include "index/op_results.h"

namespace heapa::index {

storage::OpResultRecord InsertResultsToRecord(storage::OpKind kind,
                                              const std::vector<InsertResult>& results) {
  storage::OpResultRecord rec;
  rec.kind = kind;
  for (const InsertResult& r : results) {
    rec.ids.push_back(r.id);
    rec.codes.push_back(r.created ? 1 : 0);
  }
  return rec;
}

std::vector<InsertResult> InsertResultsFromRecord(const storage::OpResultRecord& rec) {
  std::vector<InsertResult> out(rec.ids.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = InsertResult{rec.ids[i], rec.codes[i] != 0};
  return out;
}

storage::OpResultRecord SampleToRecord(const std::vector<SampledQuery>& items) {
  storage::OpResultRecord rec;
  rec.kind = storage::OpKind::kSample;
  for (const SampledQuery& q : items) {
    rec.ids.push_back(q.id);
    rec.codes.push_back(static_cast<uint8_t>(q.from));
    rec.has_rewards.push_back(q.reward ? 1 : 0);
    rec.rewards.push_back(q.reward.value_or(0));
    rec.lease = q.lease;
    rec.lease_deadline_ms = q.lease_deadline_ms;
  }
  return rec;
}

std::vector<SampledQuery> SampleFromRecord(const storage::OpResultRecord& rec) {
  std::vector<SampledQuery> out(rec.ids.size());
  for (size_t i = 0; i < out.size(); ++i) {
    out[i].id = rec.ids[i];
    out[i].lease = rec.lease;
    out[i].lease_deadline_ms = rec.lease_deadline_ms;
    out[i].from = rec.codes[i] <= storage::kMaxQueryState ? static_cast<QueryState>(rec.codes[i])
                                                          : QueryState::kCold;
    if (rec.has_rewards[i]) out[i].reward = rec.rewards[i];
  }
  return out;
}

storage::OpResultRecord ReportToRecord(std::span<const ReportItem> items,
                                       const std::vector<ReportOutcome>& outcomes) {
  storage::OpResultRecord rec;
  rec.kind = storage::OpKind::kReport;
  for (size_t i = 0; i < items.size(); ++i) {
    rec.ids.push_back(items[i].id);
    rec.codes.push_back(static_cast<uint8_t>(outcomes[i]));
  }
  return rec;
}

std::vector<ReportOutcome> ReportFromRecord(const storage::OpResultRecord& rec) {
  std::vector<ReportOutcome> out;
  for (uint8_t c : rec.codes) {
    out.push_back(c <= static_cast<uint8_t>(ReportOutcome::kStale) ? static_cast<ReportOutcome>(c)
                                                                   : ReportOutcome::kApplied);
  }
  return out;
}

storage::OpResultRecord CountToRecord(storage::OpKind kind, size_t count) {
  storage::OpResultRecord rec;
  rec.kind = kind;
  rec.count = count;
  return rec;
}

}  // namespace heapa::index
