// storage::Store: Close against concurrent users, and snapshot views.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "storage/keys.h"
#include "storage/store.h"
#include "tests/testutil/store_util.h"
#include "tests/testutil/test_util.h"

namespace heapa::storage {
namespace {

using Code = Status::Code;
using testing::CreateStoreOptions;
using testing::KeyValuePairs;
using testing::OpenStoreOrDie;
using testing::WriteAll;

}  // namespace

TEST_SUITE("storage/store") {
  TEST_CASE("Close is idempotent and every later call is Unavailable") {
    heapa::testing::TempDir tmp;
    auto store = OpenStoreOrDie(tmp.path(), CreateStoreOptions());
    HEAPA_REQUIRE_OK(store->Close());
    HEAPA_REQUIRE_OK(store->Close());
    Batch batch;
    batch.Put(MetaKey("x"), "1");
    std::string value;
    CHECK(store->Write(&batch).code() == Code::kUnavailable);
    CHECK(store->Get(MetaKey("x"), &value).code() == Code::kUnavailable);
    CHECK(store->Scan("", [](std::string_view, std::string_view) { return Status::OK(); }).code() ==
          Code::kUnavailable);
    CHECK(store->IsEmpty().status().code() == Code::kUnavailable);
  }

  TEST_CASE("a View scans the store as of its creation, and Close waits for it") {
    heapa::testing::TempDir tmp;
    auto store = OpenStoreOrDie(tmp.path(), CreateStoreOptions());
    WriteAll(store.get(), {{MetaKey("a"), "1"}});
    auto view = store->NewView();
    HEAPA_REQUIRE_OK(view.status());
    WriteAll(store.get(), {{MetaKey("a"), "2"}, {MetaKey("b"), "1"}});
    KeyValuePairs seen;
    auto collect = [&](std::string_view k, std::string_view v) {
      seen.emplace_back(std::string(k), std::string(v));
      return Status::OK();
    };
    HEAPA_REQUIRE_OK((*view)->Scan(FamilyPrefix(KeyFamily::kMeta), collect));
    CHECK(seen == KeyValuePairs{{MetaKey("a"), "1"}});
    seen.clear();
    HEAPA_REQUIRE_OK(store->Scan(FamilyPrefix(KeyFamily::kMeta), collect));
    CHECK(seen == KeyValuePairs{{MetaKey("a"), "2"}, {MetaKey("b"), "1"}});

    std::atomic<bool> closed{false};
    Status close_status;
    std::thread closer([&] {
      close_status = store->Close();
      closed.store(true);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK_FALSE(closed.load());  // the view holds it off
    seen.clear();
    CHECK(
        (*view)->Scan(FamilyPrefix(KeyFamily::kMeta), collect).ok());  // no REQUIRE: a thread runs
    CHECK(seen == KeyValuePairs{{MetaKey("a"), "1"}});
    // A call that starts while Close waits is turned away, so readers cannot starve it.
    std::string value;
    bool turned_away = false;
    for (int i = 0; i < 1000 && !turned_away; ++i) {  // once the closer has started
      turned_away = store->Get(MetaKey("a"), &value).code() == Code::kUnavailable;
      if (!turned_away) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(turned_away);
    view->reset();
    closer.join();
    HEAPA_REQUIRE_OK(close_status);
    CHECK(store->NewView().status().code() == Code::kUnavailable);
  }
}

}  // namespace heapa::storage
