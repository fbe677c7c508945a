// The one seam where RocksDB statuses become heapa Statuses. Private to storage/.
#ifndef HEAPA_STORAGE_ROCKSDB_STATUS_H_
#define HEAPA_STORAGE_ROCKSDB_STATUS_H_

#include <rocksdb/status.h>

#include "storage/status.h"

namespace heapa::storage {

Status FromRocksDb(const rocksdb::Status& s);

}  // namespace heapa::storage

#endif  // HEAPA_STORAGE_ROCKSDB_STATUS_H_
