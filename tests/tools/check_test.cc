// The heapa-check binary's verdicts and exit codes on pools built by the tests.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "index/pool.h"
#include "storage/keys.h"
#include "tests/testutil/old_formats.h"
#include "tests/testutil/sample_pool.h"
#include "tests/testutil/test_util.h"

namespace heapa {
namespace {

using testing::TempDir;

struct Run {
  int exit_code = -1;
  std::string output;
};

// Runs heapa-check with `args`, its standard output captured.
Run RunCheck(const TempDir& tmp, const std::string& args) {
  const std::string out = tmp.Sub("check.out");
  const std::string command =
      std::string("'") + HEAPA_CHECK_PATH + "' " + args + " >'" + out + "' 2>&1";
  const int status = std::system(command.c_str());
  REQUIRE(WIFEXITED(status));
  std::ifstream in(out);
  std::stringstream text;
  text << in.rdbuf();
  return {WEXITSTATUS(status), text.str()};
}

TEST_SUITE("tools/heapa-check") {
  TEST_CASE("a pool of format 2, 3 or 4 needs an upgrade (exit 5), and is clean once opened") {
    for (const int format : {2, 3, 4}) {
      CAPTURE(format);
      TempDir tmp;
      const std::string pool = tmp.Sub("pool");
      testing::BuildSamplePool(pool);
      {
        std::unique_ptr<storage::Store> store = testing::OpenRawStore(pool);
        if (format == 2) testing::RewriteAsFormat2(*store);
        if (format == 3) REQUIRE(testing::RewriteAsFormat3(*store) > 0);
        if (format == 4) REQUIRE(testing::RewriteAsFormat4(*store) > 0);
        HEAPA_REQUIRE_OK(store->Close());
      }
      Run run = RunCheck(tmp, "'" + pool + "'");
      INFO(run.output);
      CHECK(run.exit_code == 5);
      CHECK(run.output.find("needs upgrade: format version " + std::to_string(format)) !=
            std::string::npos);
      CHECK(run.output.find("problems") == std::string::npos);

      run = RunCheck(tmp, "'" + pool + "' --json");
      INFO(run.output);
      CHECK(run.exit_code == 5);
      CHECK(run.output.find("\"needs_upgrade\":true") != std::string::npos);
      CHECK(run.output.find("\"clean\":false") != std::string::npos);

      {
        PoolOptions options;
        Result<std::unique_ptr<Pool>> opened = Pool::Open(pool, options);  // upgrades
        HEAPA_REQUIRE_OK(opened.status());
        HEAPA_REQUIRE_OK((*opened)->Close());
      }
      run = RunCheck(tmp, "'" + pool + "'");
      INFO(run.output);
      CHECK(run.exit_code == 0);
      CHECK(run.output.find(": clean:") != std::string::npos);
      CHECK(run.output.find(", 0 statistics") == std::string::npos);  // moved, not lost
    }
  }

  TEST_CASE("a pool of format 5 is checked in full as it is (exit 0), with a note") {
    TempDir tmp;
    const std::string pool = tmp.Sub("pool");
    testing::BuildSamplePool(pool);
    {
      std::unique_ptr<storage::Store> store = testing::OpenRawStore(pool);
      testing::SetFormatVersion(*store, 5);
      HEAPA_REQUIRE_OK(store->Close());
    }
    Run run = RunCheck(tmp, "'" + pool + "'");
    INFO(run.output);
    CHECK(run.exit_code == 0);
    CHECK(run.output.find(": clean:") != std::string::npos);
    CHECK(run.output.find("format version 5: this build reads it as it is, and marks it " +
                          std::to_string(storage::kFormatVersion)) != std::string::npos);
    run = RunCheck(tmp, "'" + pool + "' --json");
    INFO(run.output);
    CHECK(run.exit_code == 0);
    CHECK(run.output.find("\"format_note\"") != std::string::npos);
  }
}

}  // namespace
}  // namespace heapa
