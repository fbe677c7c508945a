// A small pool with every kind of record (cold, scored, sampled, reported, in flight, an
// accepted and a rejected child, evicted queries, lineage edges), built through the Pool API
// with a fake clock and a fixed seed, for the tests of the offline tools.
#ifndef HEAPA_TESTS_TESTUTIL_SAMPLE_POOL_H_
#define HEAPA_TESTS_TESTUTIL_SAMPLE_POOL_H_

#include <cstdint>
#include <string>

#include "storage/batch.h"
#include "storage/store.h"

namespace heapa::testing {

struct SamplePoolIds {
  uint64_t reported = 0;  // ARCHIVED after a report of {1, 0, 1}
  uint64_t child = 0;     // validated child of `reported`
  uint64_t rejected = 0;  // child of `reported` and `child`, REJECTED
};

// Builds the pool in `dir` and closes it.
SamplePoolIds BuildSamplePool(const std::string& dir);

// Opens the live database of the (closed) pool in `dir` for raw writes, failing the test on
// error: the way tests damage a pool.
std::unique_ptr<storage::Store> OpenRawStore(const std::string& dir);

// Creates a pool in `dir` holding queries 1 and 2 (MakeQuery), the text record of query 2
// damaged so that reading it fails with Corruption, and closes it.
void BuildPoolWithUnreadableText(const std::string& dir);

}  // namespace heapa::testing

#endif  // HEAPA_TESTS_TESTUTIL_SAMPLE_POOL_H_
