// net/pool_registry.h: exactly-once Create, Fork and Drop, and what a crash leaves in pools/.
#include "net/pool_registry.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "storage/request_marker.h"
#include "tests/testutil/test_util.h"

namespace heapa::net {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::unique_ptr<PoolRegistry> OpenRegistry(const TempDir& dir) {
  auto reg = PoolRegistry::Open(dir.path(), PoolOptions{});
  INFO(reg.status().ToString());
  REQUIRE(reg.ok());
  return std::move(reg).value();
}

void InsertOne(PoolRegistry& reg, const std::string& name, int n) {
  auto pool = reg.Find(name);
  REQUIRE(pool.ok());
  const std::vector<NewQuery> qs = {testing::MakeQuery(n)};
  HEAPA_REQUIRE_OK((*pool)->Insert(qs).status());
}

bool DropAnswered(const PoolRegistry& reg, const std::string& name, const RequestKey& rk) {
  const Result<bool> answered = reg.DropAnswered(name, rk);
  INFO(answered.status().ToString());
  REQUIRE(answered.ok());
  return *answered;
}

size_t Queries(PoolRegistry& reg, const std::string& name) {
  auto pool = reg.Find(name);
  REQUIRE(pool.ok());
  return (*pool)->Stats().counters.total_added;
}

// Sets the immutable attribute of a directory for its lifetime (as `chattr +i`): nothing in it
// can be renamed, created or removed, and it cannot be renamed itself, not even by root. ok()
// is false where the file system or the privileges do not allow it.
class Immutable {
 public:
  explicit Immutable(const fs::path& path) : fd_(::open(path.c_str(), O_RDONLY | O_DIRECTORY)) {
    ok_ = fd_ >= 0 && Set(true);
  }
  ~Immutable() {
    if (ok_) Set(false);
    if (fd_ >= 0) ::close(fd_);
  }
  Immutable(const Immutable&) = delete;
  Immutable& operator=(const Immutable&) = delete;
  bool ok() const { return ok_; }

 private:
  bool Set(bool on) {
    int flags = 0;
    if (::ioctl(fd_, FS_IOC_GETFLAGS, &flags) != 0) return false;
    flags = on ? (flags | FS_IMMUTABLE_FL) : (flags & ~FS_IMMUTABLE_FL);
    return ::ioctl(fd_, FS_IOC_SETFLAGS, &flags) == 0;
  }
  int fd_;
  bool ok_ = false;
};

}  // namespace

TEST_SUITE("net/pool_registry") {
  TEST_CASE("a drop whose rename fails serves the pool again and keeps the name's last drop") {
    TempDir dir;
    auto reg = OpenRegistry(dir);
    const fs::path pools = fs::path(dir.path()) / "pools";
    const RequestKey first{5, 1}, second{5, 2};
    HEAPA_REQUIRE_OK(reg->Create("p", PoolConfig{}));
    HEAPA_REQUIRE_OK(reg->Drop("p", first));
    HEAPA_REQUIRE_OK(reg->Create("p", PoolConfig{}));
    InsertOne(*reg, "p", 1);
    const auto last_drop_kept = [&] {
      CHECK(reg->Names() == std::vector<std::string>{"p"});
      CHECK(Queries(*reg, "p") == 1);  // served again, with its data
      CHECK(DropAnswered(*reg, "p", first));
      CHECK_FALSE(fs::exists(pools / ".trash-p"));
    };
    {
      // The previous drop cannot be moved aside.
      Immutable frozen(pools);
      if (!frozen.ok()) {
        MESSAGE("skipped: cannot make a directory immutable here (needs root and ext4/xfs)");
        return;
      }
      const Status s = reg->Drop("p", second);
      INFO(s.ToString());
      CHECK(s.code() == Status::Code::kIOError);
    }
    last_drop_kept();
    HEAPA_REQUIRE_OK(reg->Drop("p", second));  // the resend, once the disk allows it
    CHECK(reg->Names().empty());
    CHECK(DropAnswered(*reg, "p", second));
  }

  TEST_CASE("a retried Create, Fork or Drop is answered OK and acts once, others as before") {
    TempDir dir;
    auto reg = OpenRegistry(dir);
    const RequestKey create{9, 1}, fork{9, 2}, drop{9, 3}, other{9, 4}, stranger{10, 1};
    HEAPA_REQUIRE_OK(reg->Create("a", PoolConfig{}, create));
    HEAPA_REQUIRE_OK(reg->Create("a", PoolConfig{}, create));
    CHECK(reg->Create("a", PoolConfig{}, other).code() == Status::Code::kAlreadyExists);
    CHECK(reg->Create("a", PoolConfig{}, stranger).code() == Status::Code::kAlreadyExists);
    CHECK(reg->Create("a", PoolConfig{}).code() == Status::Code::kAlreadyExists);  // anonymous
    InsertOne(*reg, "a", 1);

    HEAPA_REQUIRE_OK(reg->Fork("a", "b", std::nullopt, fork));
    InsertOne(*reg, "b", 2);
    HEAPA_REQUIRE_OK(reg->Fork("a", "b", std::nullopt, fork));  // not forked again
    CHECK(Queries(*reg, "b") == 2);
    CHECK(reg->Fork("a", "b", std::nullopt, other).code() == Status::Code::kAlreadyExists);
    CHECK(reg->Names() == std::vector<std::string>{"a", "b"});

    HEAPA_REQUIRE_OK(reg->Drop("b", drop));
    HEAPA_REQUIRE_OK(reg->Drop("b", drop));
    CHECK(reg->Drop("b", other).code() == Status::Code::kNotFound);
    CHECK(reg->Drop("b").code() == Status::Code::kNotFound);
    // The name taken again: the old drop's retry still answers OK and drops nothing.
    HEAPA_REQUIRE_OK(reg->Create("b", PoolConfig{}, other));
    HEAPA_REQUIRE_OK(reg->Drop("b", drop));
    CHECK(reg->Find("b").ok());

    // The markers are durable: the same answers after a reopen.
    HEAPA_REQUIRE_OK(reg->CloseAll());
    reg.reset();
    reg = OpenRegistry(dir);
    HEAPA_REQUIRE_OK(reg->Create("a", PoolConfig{}, create));
    CHECK(Queries(*reg, "a") == 1);
    HEAPA_REQUIRE_OK(reg->Drop("b", drop));
    CHECK(reg->Find("b").ok());
    HEAPA_REQUIRE_OK(reg->Drop("b", other));  // the create of the new "b" was request `other`
    CHECK(reg->Names() == std::vector<std::string>{"a"});
    // A later drop of the name replaces the earlier one's marker.
    HEAPA_REQUIRE_OK(reg->Drop("b", other));
    CHECK(reg->Drop("b", drop).code() == Status::Code::kNotFound);
  }

  TEST_CASE("a late retry of a create or fork of a pool dropped since does not make it again") {
    TempDir dir;
    auto reg = OpenRegistry(dir);
    const RequestKey create{9, 1}, fork{9, 2}, drop{9, 3}, drop_fork{9, 4}, other{9, 5};
    HEAPA_REQUIRE_OK(reg->Create("c", PoolConfig{}, create));
    HEAPA_REQUIRE_OK(reg->Fork("c", "f", std::nullopt, fork));
    HEAPA_REQUIRE_OK(reg->Drop("f", drop_fork));
    HEAPA_REQUIRE_OK(reg->Drop("c", drop));
    CHECK(DropAnswered(*reg, "c", drop));
    CHECK(DropAnswered(*reg, "f", drop_fork));
    CHECK_FALSE(DropAnswered(*reg, "c", other));
    CHECK_FALSE(DropAnswered(*reg, "c", RequestKey{}));
    CHECK_FALSE(DropAnswered(*reg, "c", create));
    HEAPA_REQUIRE_OK(reg->Create("c", PoolConfig{}, create));
    HEAPA_REQUIRE_OK(reg->Fork("c", "f", std::nullopt, fork));
    CHECK(reg->Names().empty());
    HEAPA_REQUIRE_OK(reg->Create("c", PoolConfig{}, other));  // a new request does
    CHECK(reg->Names() == std::vector<std::string>{"c"});
  }

  TEST_CASE("a dropped pool leaves only its marker, anonymous drops leave nothing to match") {
    TempDir dir;
    auto reg = OpenRegistry(dir);
    HEAPA_REQUIRE_OK(reg->Create("p", PoolConfig{}));
    HEAPA_REQUIRE_OK(reg->Drop("p", RequestKey{3, 3}));
    const fs::path dropped = fs::path(dir.path()) / "pools" / ".dropped-p";
    std::vector<std::string> left;
    for (const auto& e : fs::directory_iterator(dropped)) left.push_back(e.path().filename());
    std::sort(left.begin(), left.end());  // the create was anonymous: no CREATED-BY
    CHECK(left == std::vector<std::string>{storage::kDroppedByMarker});
    HEAPA_REQUIRE_OK(reg->Create("p", PoolConfig{}));
    HEAPA_REQUIRE_OK(reg->Drop("p"));
    CHECK(reg->Drop("p", RequestKey{3, 3}).code() == Status::Code::kNotFound);
  }

  TEST_CASE(
      "Open removes half-built pools and empties dropped ones, a pool without LIVE stops it") {
    TempDir dir;
    const fs::path pools = fs::path(dir.path()) / "pools";
    fs::create_directories(pools / ".creating-x" / "db-000001");
    std::ofstream(pools / ".creating-x" / "db-000001" / "CURRENT") << "junk";
    fs::create_directories(pools / ".trash-y");  // an old build's drop: no marker
    // A drop that moved the name's previous drop aside and crashed before its own rename,
    // and one that crashed after it.
    const storage::RequestId drop_w{2, 2}, drop_v{3, 3};
    fs::create_directories(pools / ".trash-w");
    HEAPA_REQUIRE_OK(storage::WriteRequestMarker((pools / ".trash-w").string(),
                                                 storage::kDroppedByMarker, drop_w));
    fs::create_directories(pools / ".trash-v");
    fs::create_directories(pools / ".dropped-v");
    HEAPA_REQUIRE_OK(storage::WriteRequestMarker((pools / ".dropped-v").string(),
                                                 storage::kDroppedByMarker, drop_v));
    fs::create_directories(pools / ".dropped-z" / "db-000003");
    const storage::RequestId drop_z{1, 1};
    HEAPA_REQUIRE_OK(storage::WriteRequestMarker((pools / ".dropped-z").string(),
                                                 storage::kDroppedByMarker, drop_z));
    {
      auto reg = OpenRegistry(dir);
      CHECK(reg->Names().empty());
      HEAPA_REQUIRE_OK(reg->Drop("z", RequestKey{1, 1}));  // the interrupted drop, retried
      HEAPA_REQUIRE_OK(reg->Drop("w", RequestKey{2, 2}));  // the previous drop came back
      HEAPA_REQUIRE_OK(reg->Drop("v", RequestKey{3, 3}));
    }
    CHECK_FALSE(fs::exists(pools / ".creating-x"));
    CHECK_FALSE(fs::exists(pools / ".trash-y"));
    CHECK_FALSE(fs::exists(pools / ".trash-w"));
    CHECK_FALSE(fs::exists(pools / ".trash-v"));
    CHECK_FALSE(fs::exists(pools / ".dropped-z" / "db-000003"));
    CHECK(fs::exists(pools / ".dropped-z" / storage::kDroppedByMarker));

    fs::create_directories(pools / "q");  // not made by heapad: no LIVE
    auto reg = PoolRegistry::Open(dir.path(), PoolOptions{});
    REQUIRE_FALSE(reg.ok());
    CHECK(reg.status().ToString().find("pool 'q'") != std::string::npos);
  }
}

}  // namespace heapa::net
