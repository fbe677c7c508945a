// The on-disk key layout of one pool (one RocksDB instance, two column families).
//
// Every key starts with a one-byte prefix naming its family; ids are u64 big-endian so that
// RocksDB's byte order is id order:
//
//   'M' name              meta records: "format" (kFormatVersion), "config", "counters"
//   'Q' id(8)             QueryRecord: the immutable prompt (records.h)
//   'C' first_id(8)       StateChunk: the states of kStateChunkIds ids from first_id
//   'J' seq(8)            StateJournal: the states one batch changed (state_log.h)
//   'S' id(8)             format 2 only: one StateRecord per id (read by format_upgrade.h)
//   'U' first_id(8)       StatsChunk: the statistics of kStatsChunkIds ids from first_id
//   'K' seq(8)            StatsJournal: the statistics one batch changed (state_log.h)
//   'T' id(8)             up to format 4 only: one StatsRecord per id (moved into 'U' chunks
//                         by the upgrade; packed from format 4, a FlatBuffer before)
//   'H' hash(16)          dedup index: XXH3-128 of (prompt, answer) -> id
//   'E' parent(8) child(8) lineage edge -> the child's policy difficulty
//   'R' client(8) request(8) the stored result of a client's request (exactly-once retries)
//
// The query records ('Q': prompt, answer, metadata; written once, with increasing ids) live in
// the column family "queries", every other family in the default one. Compacting the small
// records that samples and reports rewrite then never rewrites the prompts: in one family
// each flushed file spanned 'M'..'T' and so overlapped every 'Q' file. 'H' and 'E' are written
// once too but not in id order, so they stay out: a flushed "queries" file then never
// overlaps an older one, and its compaction is a move.
//
// When changing this layout, bump kFormatVersion, teach the dump and check tools the change,
// and add a round-trip test in tests/storage/keys_test.cc.
#ifndef HEAPA_STORAGE_KEYS_H_
#define HEAPA_STORAGE_KEYS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "storage/status.h"

namespace heapa::storage {

// Version of the key layout and record encodings together. Stored under MetaKey("format").
// 2: the "queries" column family. 3: states in chunks and journals ('C', 'J') instead of
// one 'S' record per id. 4: statistics written packed (stats_record.cc); the FlatBuffer ones
// of formats 2 and 3 are still read. 5: statistics in chunks and journals ('U', 'K') like the
// states, instead of one 'T' record per id; the upgrade moves them. 6: the same records, but
// request results are retired with range deletions (index/pool.h), which the RocksDB 7.8 of a
// format-5 build would insert into a corrupt memtable (store.cc): the version keeps such
// builds from a pool closed cleanly (its WAL is then flushed). After a crash, one would replay
// the WAL before reading the version: go back to a format-5 build only after a clean shutdown.
// The upgrade from 5 writes only the version.
inline constexpr uint32_t kFormatVersion = 6;

// The column family of the 'Q' records (see above).
inline constexpr char kQueriesColumnFamily[] = "queries";

enum class KeyFamily : char {
  kMeta = 'M',
  kQuery = 'Q',
  kStateChunk = 'C',
  kJournal = 'J',
  kFormat2State = 'S',  // not written by format 3; see format_upgrade.h
  kStats = 'T',         // up to format 4; see format_upgrade.h
  kStatsChunk = 'U',
  kStatsJournal = 'K',
  kDedup = 'H',
  kEdge = 'E',
  kRequest = 'R',
};

// A 128-bit content hash (XXH3-128), big-endian halves for a stable key order.
struct Hash128 {
  uint64_t high = 0;
  uint64_t low = 0;
  friend bool operator==(const Hash128&, const Hash128&) = default;
};

std::string MetaKey(std::string_view name);
std::string QueryKey(uint64_t id);
std::string StateChunkKey(uint64_t first_id);
std::string JournalKey(uint64_t seq);
std::string Format2StateKey(uint64_t id);
std::string StatsKey(uint64_t id);
std::string StatsChunkKey(uint64_t first_id);
std::string StatsJournalKey(uint64_t seq);
std::string DedupKey(const Hash128& hash);
std::string EdgeKey(uint64_t parent, uint64_t child);
std::string RequestKey(uint64_t client, uint64_t request);
// The first 9 bytes of every RequestKey of `client`.
std::string RequestKeyPrefix(uint64_t client);

// Decodes an 'E' key; false when `key` is not exactly one.
bool DecodeEdgeKey(std::string_view key, uint64_t* parent, uint64_t* child);

// Decodes an 'R' key; false when `key` is not exactly one.
bool DecodeRequestKey(std::string_view key, uint64_t* client, uint64_t* request);

// True when `key` belongs in kQueriesColumnFamily: a 'Q' key.
bool InQueriesColumnFamily(std::string_view key);

// The one-byte prefix of a family, for prefix scans.
std::string FamilyPrefix(KeyFamily family);

// Decodes the number of a 'Q', 'T', 'C', 'J', 'S', 'U' or 'K' key of the given family; nullopt when
// `key` is not exactly such a key.
std::optional<uint64_t> DecodeIdKey(KeyFamily family, std::string_view key);

// A printable form of any key for error messages: "T/42", "M/config", "H/<32 hex>" or
// "?/<hex>" for unknown bytes.
std::string DescribeKey(std::string_view key);

// `s` with DescribeKey(key) as its context when it is an error; OK as is, without building the
// description (decoders run this once per record on the rebuild path).
Status AtKey(const Status& s, std::string_view key);

}  // namespace heapa::storage

#endif  // HEAPA_STORAGE_KEYS_H_
