// Upgrades a pool database written by an older heapa, in place and atomically.
//
// Supported: formats 2, 3, 4 and 5 -> 6. From 2 to 4, the statistics (one 'T' record per id,
// packed or a FlatBuffer) move into statistics chunks (state_log.h); format 2 also has its
// states (one 'S' record per id) moved into state chunks. Format 5 holds the records of 6:
// only its version record changes (keys.h says why). Format 1 (one column family) is refused
// before the store opens (store.h).
//
// Thread safety: call before anything else uses `store`.
#ifndef HEAPA_STORAGE_FORMAT_UPGRADE_H_
#define HEAPA_STORAGE_FORMAT_UPGRADE_H_

#include <cstdint>
#include <string>

#include "storage/status.h"
#include "storage/store.h"

namespace heapa::storage {

// True when UpgradeFormat can bring a pool of format `version` to kFormatVersion.
bool CanUpgradeFormat(uint32_t version);

// True when this build reads every record of a pool of format `version` as it is (its upgrade
// writes only the new version record): such a pool can be checked before it is upgraded.
bool ReadsFormatAsIs(uint32_t version);

// Reads the pool format of `store` and upgrades it when it is older (UpgradeFormat). OK when
// the store is (now) of kFormatVersion; Corruption without a format record; FailedPrecondition
// for a format this build neither reads nor upgrades, with the way out in the message. `what`
// names the pool in messages.
Status EnsureCurrentFormat(Store* store, const std::string& what);

// Rewrites the pool in `store` (of format `version`, CanUpgradeFormat) to kFormatVersion in
// one synced batch: either the whole upgrade is durable or nothing changed. Corruption when a
// record of the old layout does not decode (the store is then left as it was).
Status UpgradeFormat(Store* store, uint32_t version);

}  // namespace heapa::storage

#endif  // HEAPA_STORAGE_FORMAT_UPGRADE_H_
