// Where the pool keeps each query's state (format 3) and statistics (format 5): chunks plus a
// journal, one such log for each. The text below speaks of states; the statistics work the
// same (StatsLogTraits: other keys, chunks of kStatsChunkIds, and their own journal).
//
// Most operations move many queries (a Sample of n re-keys about 2n of them), and one RocksDB
// key per moved query made each step thousands of memtable inserts. Instead:
//   - a batch that changes states writes them all in one journal record, 'J' seq;
//   - every id's state is also kept in chunks of kStateChunkIds consecutive ids, 'C' first_id,
//     each stamped with the durable sequence number (as_of) of the batch that wrote it;
//   - batches rewrite whole chunks, the stalest first, one per kJournalEntriesPerChunk states
//     journaled, and delete in the same batch every journal record older than all chunks;
//   - a batch that changes a large share of one chunk (an insert filling it) rewrites that
//     chunk instead of journaling its states, and a batch whose new ids start a chunk writes
//     it (a chunk never written would keep every journal record: ids without statistics
//     start statistics chunks);
//   - a batch's journal record may replace the previous batch's, when the caller knows the
//     two are written together (in one group of the Committer): it then carries the entries of
//     both, and the earlier record is never written. A group of small operations (reports)
//     writes one record, not one per operation, and has no more records to delete later.
// The state of a query is its newest journal entry with seq > its chunk's as_of, else its
// chunk's slot. Each step then writes a handful of keys; the journal stays bounded (a full
// round of rewrites, one per chunk, takes kJournalEntriesPerChunk / kStateChunkIds times the
// number of ids in journaled states, and deletes every record older than it) and a rebuild
// replays at most that much.
//
// The statistics: a Report rewrote one 'T' record per query (format 4), 512 memtable inserts at
// 3.5-4 us each on an aged 1M pool, 2.0 ms of a step's 4.4 ms of CPU. A write of the same
// records as one value cost about 1.2 ms less per Report (session 20); a statistics chunk is
// about 100 KB once its queries are reported many times, and one is rewritten per 512
// statistics journaled (a Report's worth).
//
// Thread safety: none; the pool calls the logs under its mutex.
#ifndef HEAPA_STORAGE_STATE_LOG_H_
#define HEAPA_STORAGE_STATE_LOG_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/batch.h"
#include "storage/keys.h"
#include "storage/records.h"
#include "storage/status.h"
#include "storage/store.h"

namespace heapa::storage {

// Journaled states that pay for rewriting one chunk: the writer's policy, not the format (a
// reader takes any journal). Each journaled state costs a 48-byte entry plus
// kStateChunkIds / kJournalEntriesPerChunk slots of 40 bytes in rewrites, and the journal holds
// up to kJournalEntriesPerChunk / kStateChunkIds entries per id. On a 1M pool, a step of 512
// writes about 1,500 states: one rewrite per 1,024 of them (4 slots per state, the first
// setting) made each step's two writes 200 KB on average and a synced write 2.2-2.8 ms; one
// per 2,048 (2 slots) writes about a third fewer bytes, saves 0.45 ms per write, and adds
// 80-90 ms to a reopen (0.36-0.56 s). It also sets kSlotsPerJournaledState below: a batch
// rewrites a chunk directly when it changes a third of it (a fifth with the first setting).
inline constexpr uint64_t kJournalEntriesPerChunk = kStateChunkIds / 2;

// The most entries a journal record may reach by folding (Write): each fold re-encodes the
// record, so a group of n folds costs O(n * this).
inline constexpr size_t kMaxFoldedJournalEntries = 64;

// What a log holds: the states.
struct StateLogTraits {
  using Record = StateRecord;
  static constexpr uint64_t kChunkIds = kStateChunkIds;
  static constexpr uint64_t kEntriesPerChunk = kJournalEntriesPerChunk;
  static constexpr KeyFamily kChunkFamily = KeyFamily::kStateChunk;
  static constexpr KeyFamily kJournalFamily = KeyFamily::kJournal;
  static constexpr size_t kMaxFoldedEntries = kMaxFoldedJournalEntries;
  static constexpr const char* kWhat = "state";
  static std::string ChunkKey(uint64_t first_id) { return StateChunkKey(first_id); }
  static std::string JournalKey(uint64_t seq) { return storage::JournalKey(seq); }
  static void EncodeChunk(const StateChunkRecord& r, std::string* out) { EncodeStateChunk(r, out); }
  static Status DecodeChunk(std::string_view v, StateChunkRecord* r) {
    return DecodeStateChunk(v, r);
  }
  static void EncodeJournal(const StateJournalRecord& r, std::string* out) {
    EncodeStateJournal(r, out);
  }
  static Status DecodeJournal(std::string_view v, StateJournalRecord* r) {
    return DecodeStateJournal(v, r);
  }
  // Whether a chunk slot holds a record: every id has a state.
  static bool Held(const StateRecord&) { return true; }
};

// The statistics: each record as EncodeStats wrote it; an id without statistics has an empty
// slot. Half a slot of journal per id at most, as for the states.
struct StatsLogTraits {
  using Record = std::string;
  static constexpr uint64_t kChunkIds = kStatsChunkIds;
  static constexpr uint64_t kEntriesPerChunk = kStatsChunkIds / 2;
  static constexpr KeyFamily kChunkFamily = KeyFamily::kStatsChunk;
  static constexpr KeyFamily kJournalFamily = KeyFamily::kStatsJournal;
  // An entry is about 100 bytes, twice a state's: a group of small reports re-encodes its
  // record at every fold, so a record folds fewer of them (more records per group instead).
  static constexpr size_t kMaxFoldedEntries = 16;
  static constexpr const char* kWhat = "statistics";
  static std::string ChunkKey(uint64_t first_id) { return StatsChunkKey(first_id); }
  static std::string JournalKey(uint64_t seq) { return StatsJournalKey(seq); }
  static void EncodeChunk(const StatsChunkRecord& r, std::string* out) { EncodeStatsChunk(r, out); }
  static Status DecodeChunk(std::string_view v, StatsChunkRecord* r) {
    return DecodeStatsChunk(v, r);
  }
  static void EncodeJournal(const StatsJournalRecord& r, std::string* out) {
    EncodeStatsJournal(r, out);
  }
  static Status DecodeJournal(std::string_view v, StatsJournalRecord* r) {
    return DecodeStatsJournal(v, r);
  }
  static bool Held(const std::string& stats) { return !stats.empty(); }
};

// What journaling one record costs, in chunk slots written: its journal entry (about one slot)
// and its share of a later chunk rewrite. A batch that changes at least 1 / this of a chunk's
// slots rewrites the chunk instead.
template <typename Traits>
inline constexpr uint64_t kSlotsPerJournaled = Traits::kChunkIds / Traits::kEntriesPerChunk + 1;
inline constexpr uint64_t kSlotsPerJournaledState = kSlotsPerJournaled<StateLogTraits>;

// The chunk stamps and live journal records of a store, as ReadStates found them.
struct StateLogPosition {
  std::vector<uint64_t> chunk_as_of;  // by chunk index; 0 for a chunk not written yet
  std::vector<uint64_t> journal;      // seqs of the journal records, increasing
};

// The writer: decides which records each batch adds.
template <typename Traits>
class RecordLog {
 public:
  using Record = typename Traits::Record;
  RecordLog() = default;
  explicit RecordLog(StateLogPosition position);

  // The current record of an id below next_id (for chunk rewrites).
  using StateOf = std::function<Record(uint64_t id)>;

  // Adds to `batch` the state records of the batch with durable sequence number `seq` (greater
  // than any before): the journal of `changed` (by increasing id; ids below next_id) or,
  // for a chunk where it changed many states, that chunk; the chunk rewrites it pays for; and
  // deletes of the journal records no chunk needs any more.
  // The position moves on as if the batch were written; after a failed write, build a new
  // StateLog from the store.
  //
  // `fold`: the caller found the batch whose journal record foldable() names still queued
  // (Committer::Queued), if foldable() is not 0. This batch's record then also carries that
  // record's entries that are still current, within Traits::kMaxFoldedEntries, and Write returns
  // the earlier record's seq. The caller must then remove that record's Put from the earlier
  // batch, which is only safe while the two will be written in one atomic group
  // (Committer::EnqueueFolding checks, under its lock), or call Unfold if it could not.
  // Otherwise (no fold) Write returns 0.
  uint64_t Write(uint64_t seq, uint64_t next_id, std::vector<std::pair<uint64_t, Record>> changed,
                 const StateOf& state_of, Batch* batch, bool fold = false);

  // The seq of the last Write's journal record while a later Write may fold it, else 0.
  uint64_t foldable() const { return open_seq_; }

  // The earlier record Write folded, `folded` (its result), is written after all: it stays in
  // the journal, until the chunks pass it (if this Write's chunk rewrites passed it already, the
  // next Write deletes it).
  void Unfold(uint64_t folded);

  // A copy of where the log stands (for tests; O(live journal records)).
  StateLogPosition position() const;

 private:
  std::vector<uint64_t> chunk_as_of_;  // as StateLogPosition::chunk_as_of
  // The least of chunk_as_of_ as of the last Write, or kUnknownOldest (none yet, or no chunks).
  static constexpr uint64_t kUnknownOldest = ~uint64_t{0};
  uint64_t oldest_as_of_ = kUnknownOldest;
  std::deque<uint64_t> journal_;  // live journal seqs, increasing: popped at the front
  uint64_t debt_ = 0;             // journaled states not yet paid for by a chunk rewrite
  // The last journal record while it may be folded (journal_.back()), and its entries.
  uint64_t open_seq_ = 0;
  std::vector<std::pair<uint64_t, Record>> open_entries_;
};

using StateLog = RecordLog<StateLogTraits>;
using StatsLog = RecordLog<StatsLogTraits>;

// Reads every id's current state from `store` and calls visit(id, state) once per id found,
// chunk by chunk, then the ids only the journal holds. `next_id` and `durable_seq` are the
// pool's counters. A record that does not decode goes to bad(key, error): its non-OK result
// stops the read (the default stops at the first). A structural inconsistency (a record under
// the wrong key, an id at or above next_id, a seq or as_of above durable_seq, a chunk newer
// than a journal record that names an id it lacks) goes to bad() too, and the record is
// skipped. `position` (optional) receives what a StateLog continues from.
// ReadLog<StatsLogTraits> visits the ids with statistics only.
template <typename Traits>
using VisitFn = std::function<Status(uint64_t id, const typename Traits::Record& record)>;
using StateVisitFn = VisitFn<StateLogTraits>;
using BadRecordFn = std::function<Status(std::string_view key, const Status& error)>;
template <typename Traits>
Status ReadLog(const Store& store, uint64_t next_id, uint64_t durable_seq,
               const VisitFn<Traits>& visit, const BadRecordFn& bad = nullptr,
               StateLogPosition* position = nullptr);
inline Status ReadStates(const Store& store, uint64_t next_id, uint64_t durable_seq,
                         const StateVisitFn& visit, const BadRecordFn& bad = nullptr,
                         StateLogPosition* position = nullptr) {
  return ReadLog<StateLogTraits>(store, next_id, durable_seq, visit, bad, position);
}

// The records of `ids` (nullopt for an id with none), with point reads of their chunks and one
// scan of the journal.
template <typename Traits>
Status ReadLogOf(const Store& store, const std::vector<uint64_t>& ids,
                 std::vector<std::optional<typename Traits::Record>>* out);
inline Status ReadStatesOf(const Store& store, const std::vector<uint64_t>& ids,
                           std::vector<std::optional<StateRecord>>* out) {
  return ReadLogOf<StateLogTraits>(store, ids, out);
}

// The chunk index of an id (ids start at 1), and the first id of a chunk.
template <typename Traits>
inline uint64_t ChunkOf(uint64_t id) {
  return (id - 1) / Traits::kChunkIds;
}
template <typename Traits>
inline uint64_t ChunkFirstId(uint64_t chunk) {
  return chunk * Traits::kChunkIds + 1;
}
inline uint64_t StateChunkOf(uint64_t id) { return ChunkOf<StateLogTraits>(id); }
inline uint64_t StateChunkFirstId(uint64_t chunk) { return ChunkFirstId<StateLogTraits>(chunk); }

}  // namespace heapa::storage

#endif  // HEAPA_STORAGE_STATE_LOG_H_
