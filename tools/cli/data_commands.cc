// The dataset verbs: import (JSONL rows into a pool) and export (a pool back into rows).
#include <fmt/core.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "tools/cli/command.h"
#include "tools/cli/export.h"
#include "tools/cli/import.h"

namespace heapa::cli {
namespace {

struct ImportArgs {
  std::string pool, file;
  bool strict = false;
  int64_t step = 0;
  size_t batch = 1000;
  size_t pipeline = 4;
};

Result<Output> RunImport(net::Client& client, const ImportArgs& a) {
  ImportOptions options{.pool = a.pool,
                        .path = a.file,
                        .strict = a.strict,
                        .step = a.step,
                        .batch = a.batch,
                        .pipeline = a.pipeline,
                        .require_answer = true,
                        .progress = true};
  HEAPA_ASSIGN_OR_RETURN(ImportSummary s, Import(client, options));
  const std::string name = a.file == "-" ? "<stdin>" : a.file;
  Json rejected = Json::array();
  std::string human = fmt::format("{} -> pool {}: {} lines, {} added, {} duplicates, {} rejected\n",
                                  name, a.pool, s.lines, s.created, s.duplicates, s.bad_lines);
  for (const ImportSummary::Rejected& r : s.rejected) {
    rejected.push_back({{"line", r.line}, {"reason", r.reason}});
    human += fmt::format("  rejected {}:{}: {}\n", name, r.line, r.reason);
  }
  if (s.rejected.size() < s.bad_lines) {
    human += fmt::format("  ... and {} more rejected lines\n", s.bad_lines - s.rejected.size());
  }
  return Output{{{"pool", a.pool},
                 {"file", name},
                 {"lines", s.lines},
                 {"rows", s.queries},
                 {"added", s.created},
                 {"duplicates", s.duplicates},
                 {"rejected_count", s.bad_lines},
                 {"rejected", std::move(rejected)}},
                human};
}

struct ExportArgs {
  std::string pool, output;
  bool all = false;
};

Result<Output> RunExport(net::Client& client, const ExportArgs& a) {
  ExportOptions options{.pool = a.pool, .include_terminal = a.all, .progress = true};
  std::ofstream file;
  if (!a.output.empty()) {
    file.open(a.output, std::ios::binary | std::ios::trunc);
    if (!file.is_open()) {
      return Status::IOError(fmt::format("cannot open {}: {}", a.output, std::strerror(errno)));
    }
  }
  std::ostream& out = a.output.empty() ? std::cout : file;
  HEAPA_ASSIGN_OR_RETURN(ExportSummary s, Export(client, options, out));
  out.flush();
  if (!out) return Status::IOError("cannot write the export");
  // With the rows on stdout, the summary goes to stderr so that stdout stays pure JSONL.
  const std::string line = fmt::format("exported {} rows of pool {} ({} evicted/rejected left out)",
                                       s.rows, a.pool, s.skipped);
  if (a.output.empty()) {
    fmt::print(stderr, "{}\n", line);
    return Output{Json(nullptr), ""};  // nothing more on stdout (see heapa_cli.cc)
  }
  return Output{{{"pool", a.pool}, {"output", a.output}, {"rows", s.rows}, {"skipped", s.skipped}},
                line + " to " + a.output + "\n"};
}

}  // namespace

void AddDataCommands(CLI::App& app, Registry* registry) {
  auto ia = std::make_shared<ImportArgs>();
  CLI::App* imp = app.add_subcommand(
      "import", "Import a JSONL dataset (verl/slime rows); re-importing adds nothing");
  imp->add_option("--pool", ia->pool, "Pool name")->required();
  imp->add_option("file", ia->file, "JSONL file ('-': standard input)")->required();
  imp->add_flag("--strict", ia->strict, "Fail on the first bad row, before importing anything");
  imp->add_option("--step", ia->step, "The trainer's step at creation")->capture_default_str();
  imp->add_option("--batch", ia->batch, "Rows per insert request")
      ->capture_default_str()
      ->check(AtLeast(1));
  imp->add_option("--pipeline", ia->pipeline, "Insert requests sent back to back")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  registry->Add(imp, [ia](net::Client& client) { return RunImport(client, *ia); });

  auto ea = std::make_shared<ExportArgs>();
  CLI::App* exp = app.add_subcommand("export", "Write a pool as JSONL rows with statistics");
  AddPoolArg(exp, &ea->pool);
  exp->add_option("--output,-o", ea->output, "Write here instead of stdout");
  exp->add_flag("--all", ea->all, "Also EVICTED and REJECTED queries");
  registry->Add(exp, [ea](net::Client& client) { return RunExport(client, *ea); });
}

}  // namespace heapa::cli
