// The child process of the crash tests: it drives a pool with random operations and prints
// one line per ACKNOWLEDGED effect to stdout, flushed, so that the parent can kill it at any
// moment and then check that everything acknowledged survived, exactly once.
//
//   I <id> <prompt>           an insert created query <id>
//   R <id> <lease>            a report was applied for (id, lease)
//   D <durable_seq>           the pool's durable sequence number after an acknowledged write
//   X <op>                    an operation is about to start (the one a kill may interrupt)
#ifndef HEAPA_TESTS_TESTUTIL_CRASH_CHILD_H_
#define HEAPA_TESTS_TESTUTIL_CRASH_CHILD_H_

namespace heapa::testing {

inline constexpr char kCrashChildFlag[] = "--crash-child";

// argv: <binary> --crash-child <dir> <seed> <tag>. Runs at most a bounded number of operations
// and returns 0, unless killed first.
int RunCrashChild(int argc, char** argv);

}  // namespace heapa::testing

#endif  // HEAPA_TESTS_TESTUTIL_CRASH_CHILD_H_
