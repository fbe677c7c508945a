// index::CheckPool: the offline integrity check of one pool's database (heapa-check, and later
// the VerifyIndex admin request).
//
// One strict scan reads every key of the store once, in key order, and verifies each value
// (envelope checksum, FlatBuffers Verifier, the record's own rules: records.h), then the rules
// that tie records together:
//   - every id below counters.next_id has one 'Q' record and one state (its chunk slot or its
//     newer journal entry, storage/state_log.h), and no key names an id at or beyond it; 'T'
//     records belong to existing queries;
//   - each query has one dedup entry ('H'), whose hash is its (prompt, answer)'s;
//   - states: seqs and leases below the counters', IN_FLIGHT returns to COLD/LOW/HIGH, COLD is
//     unscored and ARCHIVED scored, COLD + LOW + HIGH <= config.max_size;
//   - partitions against rewards: max LOW <= min HIGH (the offending side's keys are named);
//   - lineage: every edge joins two existing queries, the parent older than the child, and
//     the edges of a child are exactly the parents its 'Q' record lists;
//   - counters: total_added = next_id - 1, total_evicted = the EVICTED states, total_reports =
//     the sum of the 'T' records' reports;
// (the states are read after the scan, by storage::ReadStates, and named "state/<id>"), then
// rebuilds the in-memory index from the states the way Pool::Open does and compares each
// set with the stored partitions (a duplicate ordering key leaves a query out of its set).
//
// Damage is reported as problems (the key, described as in storage::DescribeKey, and what is
// wrong), not as an error: the scan goes on past a bad record so that one run names all of
// them. A checksum error inside RocksDB's own files stops the scan (RocksDB cannot step over
// it); the problem then names the last good key, and the cross-record rules are skipped.
//
// Memory: about 100 bytes per query id (the rebuilt index and one small entry per id).
// Thread safety: reads `store` only; the store may be shared with other readers.
#ifndef HEAPA_INDEX_POOL_CHECK_H_
#define HEAPA_INDEX_POOL_CHECK_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "storage/records.h"
#include "storage/result.h"
#include "storage/status.h"
#include "storage/store.h"

namespace heapa::index {

struct CheckOptions {
  // Problems kept in the report; later ones are only counted.
  size_t max_problems = 1000;
  // Called with the number of keys read so far, every 65536 keys and once at the end.
  std::function<void(uint64_t keys)> progress;
};

struct CheckProblem {
  std::string key;   // "T/42", "E/3->9", "M/counters", "state/42"; empty for the whole pool
  std::string what;  // what is wrong, with the values involved
};

struct CheckReport {
  uint64_t keys = 0;  // keys read by the scan
  uint64_t queries = 0, states = 0, stats = 0, dedup = 0, edges = 0, requests = 0;
  std::array<uint64_t, storage::kMaxQueryState + 1> per_state{};  // states read, by state
  bool scan_complete = false;  // false: an iterator error stopped the scan
  uint64_t problem_count = 0;  // all problems, kept or not
  std::vector<CheckProblem> problems;
  // The version its format record names (0: the record is missing or does not decode).
  uint32_t format_version = 0;
  // Non-zero: the pool is of this older format version, which this build upgrades when it
  // opens the pool, rewriting records. Only the meta records were checked (the rest is what
  // the upgrade changes). Zero for an older format this build reads as it is
  // (storage::ReadsFormatAsIs): that one is checked in full.
  uint32_t upgrade_from = 0;
  // Everything was checked and no problem found (never for a pool that needs the upgrade).
  bool clean() const { return problem_count == 0 && upgrade_from == 0; }
};

// Checks the pool in `store` (open, typically read-only). Returns the report, clean or not;
// a non-OK Status only when the check could not run at all (the store is closed).
// O(n log n) time for n keys.
Result<CheckReport> CheckPool(const storage::Store& store, const CheckOptions& options = {});

}  // namespace heapa::index

#endif  // HEAPA_INDEX_POOL_CHECK_H_
