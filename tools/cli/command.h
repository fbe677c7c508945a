// The verbs of the heapa command line. Each verb is a CLI11 subcommand whose options are bound
// to its own argument struct, and a Runner that performs it with a connected client once the
// command line parsed. A Runner returns what to print, or the Status to report.
//
// Thread safety: none; used by main only.
#ifndef HEAPA_TOOLS_CLI_COMMAND_H_
#define HEAPA_TOOLS_CLI_COMMAND_H_

#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdint>
#include <functional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "net/client.h"
#include "storage/result.h"
#include "tools/cli/format.h"
#include "tools/flag_checks.h"

namespace heapa::cli {

// What a command prints on stdout: `json` with --json; otherwise `human`, or `json` rendered by
// RenderHuman when `human` is empty.
struct Output {
  Json json;
  std::string human;
};

using Runner = std::function<Result<Output>(net::Client& client)>;

class Registry {
 public:
  void Add(CLI::App* sub, Runner run) { verbs_.emplace_back(sub, std::move(run)); }
  // The runner of the subcommand that was parsed, or nullptr.
  const Runner* Selected() const {
    for (const auto& [sub, run] : verbs_) {
      if (sub->parsed()) return &run;
    }
    return nullptr;
  }

 private:
  std::vector<std::pair<CLI::App*, Runner>> verbs_;
};

// Each adds its verbs to `app` in help order: pools, create, drop, config; insert, child,
// validate, sample, report, reinsert, recover, get, lineage, refresh; stats, checkpoint,
// checkpoints, restore, fork, digest.
void AddPoolCommands(CLI::App& app, Registry* registry);
void AddQueryCommands(CLI::App& app, Registry* registry);
void AddStateCommands(CLI::App& app, Registry* registry);
// import, export (tools/cli/data_commands.cc).
void AddDataCommands(CLI::App& app, Registry* registry);

// The positional POOL argument every pool verb starts with.
inline CLI::Option* AddPoolArg(CLI::App* sub, std::string* pool) {
  return sub->add_option("pool", *pool, "Pool name")->required();
}

}  // namespace heapa::cli

#endif  // HEAPA_TOOLS_CLI_COMMAND_H_
