// heapa: the command line of a heapad daemon.
//
//   heapa [--host H] [--port P] [--auth-token-file F] [--timeout-ms T] [--json] <verb> ...
//
// Verbs: pools, create, drop, config, insert, child, validate, sample, report, reinsert,
// recover, get, lineage, refresh, stats, checkpoint, checkpoints, restore, fork, digest,
// import, export
// (`heapa <verb> --help` for each). Output is human-readable, or with --json exactly one JSON
// document on stdout. An error prints "heapa: <Code>: <message>" on stderr and exits with:
//   2 usage, 3 not found, 4 invalid argument / failed precondition / already exists,
//   5 unavailable (cannot connect, daemon shutting down, pool degraded), 6 outcome unknown (a
//   mutation may or may not have been applied: look before running it again), 1 anything else.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "net/client.h"
#include "storage/result.h"
#include "storage/status.h"
#include "tools/cli/command.h"
#include "tools/cli/format.h"

namespace heapa::cli {
namespace {

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;
constexpr int kExitNotFound = 3;
constexpr int kExitRejected = 4;
constexpr int kExitUnavailable = 5;
constexpr int kExitUnknownOutcome = 6;

struct GlobalFlags {
  std::string host = "127.0.0.1";
  uint16_t port = 7411;
  std::string auth_token_file;
  int64_t timeout_ms = 30000;
  bool json = false;
};

int ExitCode(const Status& status) {
  switch (status.code()) {
    case Status::Code::kOk:
      return 0;
    case Status::Code::kNotFound:
      return kExitNotFound;
    case Status::Code::kInvalidArgument:
    case Status::Code::kFailedPrecondition:
    case Status::Code::kAlreadyExists:
      return kExitRejected;
    case Status::Code::kUnavailable:
      return kExitUnavailable;
    case Status::Code::kUnknownOutcome:
      return kExitUnknownOutcome;
    default:
      return kExitError;
  }
}

int Fail(const Status& status, int exit_code) {
  std::fflush(stdout);
  fmt::print(stderr, "heapa: {}\n", status.ToString());
  return exit_code;
}
int Fail(const Status& status) { return Fail(status, ExitCode(status)); }

// The token in `path`, without trailing whitespace (a newline, typically).
Result<std::string> ReadToken(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) {
    return Status::NotFound(
        fmt::format("cannot open auth token file {}: {}", path, std::strerror(errno)));
  }
  std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Status::IOError(fmt::format("cannot read auth token file {}", path));
  while (!token.empty() && std::strchr(" \t\r\n", token.back()) != nullptr) token.pop_back();
  if (token.empty()) {
    return Status::InvalidArgument(fmt::format("auth token file {} is empty", path));
  }
  return token;
}

void AddGlobalFlags(CLI::App& app, GlobalFlags* flags) {
  app.add_option("--host", flags->host, "Address of heapad")->capture_default_str();
  app.add_option("--port", flags->port, "Port of heapad")->capture_default_str();
  app.add_option("--auth-token-file", flags->auth_token_file,
                 "File holding the daemon's shared-secret token");
  app.add_option("--timeout-ms", flags->timeout_ms, "Timeout of each request")
      ->capture_default_str()
      ->check(Milliseconds(1));
  app.add_flag("--json", flags->json, "Print one JSON document instead of text");
}

int Run(int argc, char** argv) {
  CLI::App app{"heapa: the command line of a heapad prompt-pool daemon", "heapa"};
  GlobalFlags flags;
  AddGlobalFlags(app, &flags);
  app.require_subcommand(1);
  app.fallthrough();  // global flags may also follow the verb
  Registry registry;
  AddPoolCommands(app, &registry);
  AddQueryCommands(app, &registry);
  AddStateCommands(app, &registry);
  AddDataCommands(app, &registry);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help prints on stdout and exits 0; every other parse error is a usage error.
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  const Runner* run = registry.Selected();
  if (run == nullptr) return Fail(Status::Internal("no verb was selected"));

  net::ClientOptions options;
  options.host = flags.host;
  options.port = flags.port;
  options.timeout_ms = flags.timeout_ms;
  options.client_name = "heapa-cli";
  if (!flags.auth_token_file.empty()) {
    Result<std::string> token = ReadToken(flags.auth_token_file);
    if (!token.ok()) return Fail(token.status());
    options.auth_token = std::move(token).value();
  }
  Result<std::unique_ptr<net::Client>> client = net::Client::Connect(options);
  if (!client.ok()) {
    // Whatever kept the connection from being made (refused, timed out, reset) is "cannot
    // connect"; a daemon that answered and refused (a bad token) keeps its own code.
    const int code = ExitCode(client.status());
    return Fail(client.status().WithContext(
                    fmt::format("cannot connect to heapad at {}:{}", flags.host, flags.port)),
                code == kExitError ? kExitUnavailable : code);
  }
  Result<Output> output = (*run)(**client);
  if (!output.ok()) return Fail(output.status());
  if (output->json.is_null() && output->human.empty()) {
    // The verb wrote its own output (export's rows on stdout).
  } else if (flags.json) {
    fmt::print("{}\n", Dump(output->json));
  } else {
    fmt::print("{}", output->human.empty() ? RenderHuman(output->json) : output->human);
  }
  if (std::fflush(stdout) != 0) {
    return Fail(Status::IOError(fmt::format("cannot write output: {}", std::strerror(errno))));
  }
  return 0;
}

}  // namespace
}  // namespace heapa::cli

int main(int argc, char** argv) {
  // Errors are values everywhere below; this only catches what a library may still throw
  // (std::bad_alloc, a JSON type error), so that no exception escapes main.
  try {
    return heapa::cli::Run(argc, argv);
  } catch (const std::exception& e) {
    fmt::print(stderr, "heapa: Internal: {}\n", e.what());
  } catch (...) {
    fmt::print(stderr, "heapa: Internal: unknown exception\n");
  }
  return 1;
}
