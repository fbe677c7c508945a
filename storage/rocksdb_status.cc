#include "storage/rocksdb_status.h"

namespace heapa::storage {

Status FromRocksDb(const rocksdb::Status& s) {
  const std::string msg = s.ToString();
  switch (s.code()) {
    case rocksdb::Status::kOk:
      return Status::OK();
    case rocksdb::Status::kNotFound:
      return Status::NotFound(msg);
    case rocksdb::Status::kCorruption:
      return Status::Corruption(msg);
    case rocksdb::Status::kNotSupported:
    case rocksdb::Status::kInvalidArgument:
      return Status::InvalidArgument(msg);
    case rocksdb::Status::kIOError:
      if (s.IsNoSpace()) return Status::ResourceExhausted(msg);
      return Status::IOError(msg);
    case rocksdb::Status::kMergeInProgress:
    case rocksdb::Status::kIncomplete:
    case rocksdb::Status::kShutdownInProgress:
    case rocksdb::Status::kTimedOut:
    case rocksdb::Status::kAborted:
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kExpired:
    case rocksdb::Status::kTryAgain:
    case rocksdb::Status::kColumnFamilyDropped:
      return Status::Unavailable(msg);
    case rocksdb::Status::kCompactionTooLarge:
    case rocksdb::Status::kMaxCode:
      return Status::Internal(msg);
  }
  return Status::Internal(msg);
}

}  // namespace heapa::storage
