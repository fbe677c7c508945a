// Rewrites a pool database into storage format 2 (one 'S' id record per query state), the way
// builds before format 3 stored it: the input of the format-upgrade tests.
#ifndef HEAPA_TESTS_TESTUTIL_FORMAT2_H_
#define HEAPA_TESTS_TESTUTIL_FORMAT2_H_

#include <cstdint>
#include <optional>

#include "storage/store.h"

namespace heapa::testing {

// Replaces the state chunks and journal of the (format-3) pool in `store` with format-2 'S'
// records and sets its format record to 2. `skip`: leave that id's record out (damage).
void RewriteAsFormat2(storage::Store& store, std::optional<uint64_t> skip = std::nullopt);

}  // namespace heapa::testing

#endif  // HEAPA_TESTS_TESTUTIL_FORMAT2_H_
