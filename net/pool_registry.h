// net::PoolRegistry: the named pools of one daemon, each in <data_dir>/pools/<name>/.
//
// Open() opens every pool found and fails (naming the pool and the reason) if any of them is
// corrupt: the daemon never serves a partial set or starts an empty pool where one existed.
//
// A new pool (Create, Fork) is built in pools/.creating-<name>/ and renamed into place once
// complete, so a crash never leaves a half-made pool under its name; Open removes what such a
// crash left. A dropped pool is renamed to pools/.dropped-<name>/ and emptied but for its
// request markers (one such directory per dropped name, the name's last drop). Create, Fork
// and Drop take the request's id: a retry of the request that made (or dropped) the pool is
// answered OK without acting again, also after the pool was dropped, until the name's next
// drop (storage/request_marker.h). A Drop that fails before its rename serves the pool again.
//
// Thread safety: all methods may be called concurrently; Create, Drop and Fork run one at a
// time (a retry waits for its original). Pools returned by Find() stay valid until Drop() of
// that name or the registry's destruction; Drop waits for no one, so the service holds a
// shared_ptr for the duration of a request.
#ifndef HEAPA_NET_POOL_REGISTRY_H_
#define HEAPA_NET_POOL_REGISTRY_H_

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "index/pool.h"

namespace heapa::net {

class PoolRegistry {
 public:
  // `base` provides sync, clock and limits for every pool (not the config: that is per pool).
  static Result<std::unique_ptr<PoolRegistry>> Open(const std::string& data_dir,
                                                    const PoolOptions& base);

  // NotFound for an unknown pool.
  Result<std::shared_ptr<Pool>> Find(const std::string& name) const;
  std::vector<std::string> Names() const;
  std::vector<std::pair<std::string, uint64_t>> DurableSeqs() const;

  // InvalidArgument for a bad name or config; AlreadyExists when the name is taken (but by
  // request `rk` itself: OK).
  Status Create(const std::string& name, const PoolConfig& config, const RequestKey& rk = {});
  // Closes the pool and deletes its data. NotFound for an unknown pool, unless request `rk`
  // was the last to drop that name: OK, whether or not the name was taken again since.
  Status Drop(const std::string& name, const RequestKey& rk = {});
  // Forks pool `name` (from checkpoint `tag`, or now) into a new pool `new_name` and opens it.
  // AlreadyExists when `new_name` is taken (but by request `rk` itself: OK).
  Status Fork(const std::string& name, const std::string& new_name,
              const std::optional<std::string>& tag, const RequestKey& rk = {});

  // Whether request `rk` is a retry of the drop that removed pool `name` (false when
  // anonymous or invalid), with that drop made durable first. UnknownOutcome when that sync,
  // or reading the drop's marker, fails. Lets the service answer such a retry without taking
  // an admin slot; only meaningful while not busy (Look).
  Result<bool> DropAnswered(const std::string& name, const RequestKey& rk) const;
  // Pool `name` (null when there is none) and whether a Create, Fork or Drop of it is running,
  // read at one moment: while busy, whether the pool exists, and what its markers say, may
  // change at any moment (a retry must wait for its original).
  struct Lookup {
    std::shared_ptr<Pool> pool;
    bool busy = false;
  };
  Lookup Look(const std::string& name) const;

  // Closes every pool; returns the first error.
  Status CloseAll();

  // InvalidArgument unless `name` can name a pool (the rules of a checkpoint tag).
  static Status ValidateName(const std::string& name);
  // The directory of pool `name` under `data_dir`, whether or not it exists.
  static std::string PoolDirIn(const std::string& data_dir, const std::string& name);

 private:
  PoolRegistry(std::string data_dir, const PoolOptions& base)
      : data_dir_(std::move(data_dir)), base_(base) {}
  std::string PoolDir(const std::string& name) const;
  std::string PoolsDir() const;
  std::string DroppedDir(const std::string& name) const;
  std::string TrashDir(const std::string& name) const;
  // True when request `rk` made pool `name` (a retry: the pool exists, or was dropped since);
  // false when the name is free; AlreadyExists when another request made it. A pool on disk
  // but not open (Publish could not open it) is opened first. REQUIRES: admin_mu_ held.
  Result<bool> MadeBy(const std::string& name, const RequestKey& rk);
  // Where pool `name` is built, emptied of an interrupted attempt's leftovers.
  Result<std::string> ClearStaging(const std::string& name) const;
  // Marks the complete pool at `staging` as made by `rk`, renames it to `name`, durably, and
  // opens it.
  Status Publish(const std::string& staging, const std::string& name, const RequestKey& rk);
  Status OpenPublished(const std::string& name);

  const std::string data_dir_;
  const PoolOptions base_;
  // Marks `name` Busy for its lifetime.
  class BusyName {
   public:
    BusyName(PoolRegistry* reg, std::string name);
    ~BusyName();
    BusyName(const BusyName&) = delete;
    BusyName& operator=(const BusyName&) = delete;

   private:
    PoolRegistry* const reg_;
    const std::string name_;
  };

  std::mutex admin_mu_;  // Create, Drop, Fork; taken before mu_
  mutable std::mutex mu_;
  std::set<std::string> busy_;                          // guarded by mu_
  std::map<std::string, std::shared_ptr<Pool>> pools_;  // guarded by mu_
};

}  // namespace heapa::net

#endif  // HEAPA_NET_POOL_REGISTRY_H_
