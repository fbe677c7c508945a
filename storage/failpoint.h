// Test-only crash points (reliability-plan §3): named places in the write path where a test
// can make the process die as a crash would, or fail as a disk would.
//
//   HEAPA_FAILPOINTS="commit.before_write@3,rebuild.scan,admin.after_publish=error"
//
// arms each named point (NAME[=ACTION][@N]); the n-th time the process reaches it (default: the
// first), it exits at once with _exit(kFailpointExitCode): no destructors, no flush, no reply,
// exactly what a SIGKILL at that instruction leaves behind. Other actions, that one time:
//   =error      FailpointStatus returns an IOError (only the points marked FailpointStatus
//               below can: arming another one so is a bad spec);
//   =pauseMS    the thread sleeps MS milliseconds, then goes on (for tests of what runs
//               meanwhile).
// Unarmed points cost one predictable branch. The variable is read once, at the first point
// reached. Unknown names are an error at that time (the process exits with kFailpointBadSpec), so a
// typo never silently tests nothing.
#ifndef HEAPA_STORAGE_FAILPOINT_H_
#define HEAPA_STORAGE_FAILPOINT_H_

#include <span>
#include <string_view>

#include "storage/status.h"

namespace heapa::storage {

inline constexpr int kFailpointExitCode = 86;
inline constexpr int kFailpointBadSpec = 87;

// Every point, for tests and error messages:
//   commit.before_write   a group is about to be written (nothing of it on disk)
//   commit.after_write    a group is durable, nobody has been told
//   pool.before_enqueue   an operation changed the index, its batch is not queued yet
//   report.mid_apply      a report has applied half of its items to the index
//   rebuild.scan          the rebuild of an index read one more state record
//   shutdown.before_close the daemon drained its pools and is about to close them
//   admin.before_publish  an admin request (create, fork, checkpoint, restore, drop) has built
//                         its result, with its request marker, and not yet published it
//                         (FailpointStatus: the publication fails)
//   admin.after_publish   it has published its result, nobody has been told (FailpointStatus)
//   live.before_rename    a pool's LIVE file is about to be written (a create or fork) or
//                         replaced (a restore) by a rename, the new one written and synced
//                         (FailpointStatus: the rename fails)
std::span<const std::string_view> FailpointNames();

// Exits the process (or pauses, if armed with "=pauseMS") if `name` is armed and this is its
// n-th hit.
void Failpoint(std::string_view name);

// As Failpoint, and returns IOError("failpoint <name>") if `name` was armed with "=error" and
// fires; otherwise OK.
Status FailpointStatus(std::string_view name);

}  // namespace heapa::storage

#endif  // HEAPA_STORAGE_FAILPOINT_H_
