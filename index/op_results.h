// Conversions between operation results and their stored form (storage::OpResultRecord), for
// exactly-once retries.
#ifndef HEAPA_INDEX_OP_RESULTS_H_
#define HEAPA_INDEX_OP_RESULTS_H_

#include <span>
#include <vector>

#include "index/types.h"
#include "storage/records.h"

namespace heapa::index {

storage::OpResultRecord InsertResultsToRecord(storage::OpKind kind,
                                              const std::vector<InsertResult>& results);
std::vector<InsertResult> InsertResultsFromRecord(const storage::OpResultRecord& rec);

// Content is not stored; a replayed sample re-reads it.
storage::OpResultRecord SampleToRecord(const std::vector<SampledQuery>& items);
std::vector<SampledQuery> SampleFromRecord(const storage::OpResultRecord& rec);

storage::OpResultRecord ReportToRecord(std::span<const ReportItem> items,
                                       const std::vector<ReportOutcome>& outcomes);
std::vector<ReportOutcome> ReportFromRecord(const storage::OpResultRecord& rec);

storage::OpResultRecord CountToRecord(storage::OpKind kind, size_t count);

}  // namespace heapa::index

#endif  // HEAPA_INDEX_OP_RESULTS_H_
