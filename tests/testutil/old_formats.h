// Rewrites a pool database into an older storage format, the way older builds stored it: the
// input of the format-upgrade tests.
#ifndef HEAPA_TESTS_TESTUTIL_OLD_FORMATS_H_
#define HEAPA_TESTS_TESTUTIL_OLD_FORMATS_H_

#include <cstdint>
#include <optional>

#include "storage/store.h"

namespace heapa::testing {

// Replaces the statistics chunks and journal of the (current-format) pool in `store` with one
// packed 'T' record per query with statistics, and sets its format record to 4. Returns how
// many it wrote.
uint64_t RewriteAsFormat4(storage::Store& store);

// As RewriteAsFormat4, then rewrites every statistics record as the FlatBuffer of formats 2
// and 3, and sets the format record to 3. Returns how many it rewrote.
uint64_t RewriteAsFormat3(storage::Store& store);

// As RewriteAsFormat3, then replaces the state chunks and journal with format-2 'S' records
// (one per query) and sets the format record to 2. `skip`: leave that id's record out (damage).
void RewriteAsFormat2(storage::Store& store, std::optional<uint64_t> skip = std::nullopt);

// Sets the format record of the pool in `store` to `version`, and changes nothing else: a
// pool of format 5 holds the records of 6; other versions test the refusals.
void SetFormatVersion(storage::Store& store, uint32_t version);

}  // namespace heapa::testing

#endif  // HEAPA_TESTS_TESTUTIL_OLD_FORMATS_H_
