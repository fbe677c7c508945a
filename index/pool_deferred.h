// Pool::DeferredDurability: pipelined durability for a server (see the class comment).
#ifndef HEAPA_INDEX_POOL_DEFERRED_H_
#define HEAPA_INDEX_POOL_DEFERRED_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "index/pool.h"
#include "storage/committer.h"
#include "storage/status.h"

namespace heapa {

// Pipelined durability, for a server that applies one connection's requests in order but
// lets them share fsyncs. While a DeferredDurability for this pool lives on a thread, a
// mutation of the pool made on that thread applies, queues its batch and returns at once:
// its result is final unless the batch's write fails. Wait() blocks until everything queued
// under it is durable: OK, or UnknownOutcome when a write failed (then, as for any failed
// write, the index was rebuilt from the store, and the pool is degraded unless it has
// resumed since). A scope may span such a rebuild: a batch lost before it still makes Wait()
// UnknownOutcome. Nothing such a mutation returned may be shown to anyone before Wait() is
// OK. Without one, each mutation waits for its own batch. Scopes nest; the innermost one for
// the pool collects.
class Pool::DeferredDurability {
 public:
  explicit DeferredDurability(Pool* pool);
  ~DeferredDurability();  // stops collecting; does not wait
  DeferredDurability(const DeferredDurability&) = delete;
  DeferredDurability& operator=(const DeferredDurability&) = delete;

  // Waits for the last batch queued under this scope (batches become durable in order, so
  // every earlier one is too). OK at once when nothing was queued. Once it returned an
  // error, every later call returns that error too (a scope that lost a batch stays lost).
  // May be called from another thread, after the scope stopped collecting (see Release()).
  Status Wait();
  // Wait() without blocking for the fsync: calls done(OK, durable seq) once everything
  // queued under this scope is durable, at once when nothing was. When the write failed it
  // calls done(error, 0) with the raw write error; Wait(), called then from a thread that may
  // block, gives the pool's verdict (UnknownOutcome, after its rebuild). This thread may
  // write groups itself first; else done runs on the thread whose write decided, which may
  // hold the pool's lock (a Drain in Close, Digest, ...): `done` must be quick and must not
  // call into the pool. The scope must have stopped collecting (Release()). `done` may
  // destroy the scope (it may run before this returns; nothing of the scope is used after).
  void WhenDurable(std::function<void(const Status&, uint64_t durable_seq)> done);
  // Stops collecting on this thread, so that the scope can be waited for elsewhere.
  void Release();

 private:
  friend class Pool;
  static DeferredDurability* Current(const Pool* pool);
  // Wait() before its answer is remembered.
  Status WaitForQueued();
  // Records batch `seq`, queued on `current` (the pool's committer). REQUIRES: pool's mu_.
  void Track(const std::shared_ptr<storage::Committer>& current, uint64_t seq);

  Pool* pool_;
  std::shared_ptr<storage::Committer> committer_;  // set by the first queued batch
  uint64_t seq_ = 0;                               // the last queued batch's
  Status lost_;    // a batch of a committer the pool replaced that it did not make durable
  Status failed_;  // the first error Wait() returned, returned by every later call
  DeferredDurability* outer_;  // the enclosing scope on this thread
  bool collecting_ = true;
};

}  // namespace heapa

#endif  // HEAPA_INDEX_POOL_DEFERRED_H_
