// A bounded load generator and checker for a live heapad (reliability-plan §3, issue #7).
//
// Run() starts several clients that insert, sample, report, insert children and validate
// against one pool, and logs every ACKNOWLEDGED effect (and every attempt whose outcome is
// unknown because the daemon died under it). Each client stops by itself after a number of
// operations or at its first failure (the daemon was killed). After the daemon restarts,
// Verify() checks the contract with a fresh client:
//   - every acknowledged insert and child is there with its content and lineage;
//   - every acknowledged report is applied, and no query has more reports applied than
//     were attempted for it (nothing applied twice);
//   - every acknowledged lease that was never reported is still IN_FLIGHT under that lease;
//   - an acknowledged validation is applied; a child never validated is still PENDING;
//   - the durable sequence number is at least the highest one acknowledged;
//   - the daemon's index equals a rebuild from its storage (VerifyIndex).
// Logs accumulate across rounds, so one checker verifies everything ever acknowledged.
#ifndef HEAPA_TESTS_TESTUTIL_LOAD_CHECKER_H_
#define HEAPA_TESTS_TESTUTIL_LOAD_CHECKER_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "index/types.h"

namespace heapa::testing {

class LoadChecker {
 public:
  // Creates `pool` in the daemon at `port` (fails the test if it cannot).
  LoadChecker(uint16_t port, std::string pool, uint64_t seed);

  // Runs `clients` clients of at most `ops_per_client` operations each; returns when all
  // have stopped. A client stops at its first error that is not a definite rejection.
  void Run(int clients, int ops_per_client);

  // The daemon may have moved (restart on another port is not supported: same port).
  // Returns the violations found (empty: the contract held).
  std::vector<std::string> Verify();

  struct Counts {
    uint64_t inserts = 0, samples = 0, reports = 0, children = 0, validations = 0;
    uint64_t unknown = 0;  // operations cut off by a failure
  };
  Counts counts() const;

 private:
  struct ClientLog;
  void RunClient(int index, uint64_t seed, int ops);
  void Merge(const ClientLog& log);

  const uint16_t port_;
  const std::string pool_;
  const uint64_t seed_;
  uint64_t round_ = 0;

  mutable std::mutex mu_;
  std::map<std::string, QueryId> inserted_;        // acknowledged: prompt -> id
  std::set<std::string> maybe_inserted_;           // attempted, outcome unknown
  std::map<QueryId, uint64_t> reports_acked_;      // acknowledged APPLIED reports per id
  std::map<QueryId, uint64_t> reports_attempted_;  // distinct (id, lease) reports sent per id
  std::map<QueryId, LeaseId> outstanding_;         // acknowledged lease, never reported
  std::map<QueryId, QueryId> children_;            // acknowledged child -> its parent
  std::map<QueryId, bool> validated_;              // acknowledged validation: accept?
  std::set<QueryId> validate_attempted_;
  uint64_t max_durable_seq_ = 0;
  Counts counts_;
};

}  // namespace heapa::testing

#endif  // HEAPA_TESTS_TESTUTIL_LOAD_CHECKER_H_
