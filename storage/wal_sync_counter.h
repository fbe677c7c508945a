// storage::NewWalSyncCountingEnv: a RocksDB environment that passes every call through to the
// default one and counts the syncs of write-ahead-log files (*.log). The count is the evidence
// that a synced write reached fdatasync (reliability-plan R1): the Store reports it
// (Store::WalSyncs), tests check it against the writes acknowledged, and heapad exports it.
//
// Storage-internal: only store.cc includes this header (RocksDB stays private to storage/).
//
// Thread safety: the environment is RocksDB's to call from any thread; the counter is atomic.
#ifndef HEAPA_STORAGE_WAL_SYNC_COUNTER_H_
#define HEAPA_STORAGE_WAL_SYNC_COUNTER_H_

#include <rocksdb/env.h>

#include <atomic>
#include <cstdint>
#include <memory>

namespace heapa::storage {

// An Env over the default file system whose WAL files add one to *syncs for each Sync or
// Fsync. The Env must outlive every database opened with it.
std::unique_ptr<rocksdb::Env> NewWalSyncCountingEnv(std::shared_ptr<std::atomic<uint64_t>> syncs);

}  // namespace heapa::storage

#endif  // HEAPA_STORAGE_WAL_SYNC_COUNTER_H_
