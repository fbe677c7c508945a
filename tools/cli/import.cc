#include "tools/cli/import.h"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>
#include <vector>

#include "storage/records.h"
#include "tools/dump/progress.h"

namespace heapa::cli {
namespace {

// Ordered, so that a message list keeps its keys in the order the file has them.
using json = nlohmann::ordered_json;

// The field `key` of `object`, or nullptr when it is absent or null.
const json* Find(const json& object, const char* key) {
  const auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

// A string, or a number as its JSON text (answers such as 42 are common in math sets).
Status TextField(const json& value, const char* name, std::string* out) {
  if (value.is_string()) {
    *out = value.get<std::string>();
  } else if (value.is_number()) {
    *out = value.dump();
  } else {
    return Status::InvalidArgument(fmt::format("\"{}\" is not a string", name));
  }
  return Status::OK();
}

// nlohmann's message without its "[json.exception.parse_error.101] " prefix.
std::string JsonError(const json::exception& e) {
  std::string_view what = e.what();
  const size_t end = what.find("] ");
  if (what.starts_with("[json.exception.") && end != std::string_view::npos) {
    what.remove_prefix(end + 2);
  }
  return "invalid JSON: " + std::string(what);
}

// Rejected lines kept in the summary (all of them are printed as they are found).
constexpr size_t kMaxRejectedKept = 1000;

bool IsBlank(std::string_view line) {
  return line.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// Calls `fn` with each line (1-based number and text) until it returns an error.
Status ForEachLine(std::istream& in, const std::string& name,
                   const std::function<Status(uint64_t, const std::string&)>& fn) {
  std::string text;
  uint64_t line = 0;
  while (std::getline(in, text)) {
    HEAPA_RETURN_IF_ERROR(fn(++line, text));
  }
  if (in.bad()) return Status::IOError(fmt::format("{}: read error after line {}", name, line));
  return Status::OK();
}

// The pool's per-query limits, checked here so that one oversize row is a bad line rather than
// a failed batch.
Status CheckLimits(const NewQuery& q) {
  const auto over = [](const char* what, size_t n, size_t limit) {
    return Status::InvalidArgument(fmt::format("{} of {} exceeds {}", what, n, limit));
  };
  if (q.prompt.size() > storage::kMaxPromptBytes) {
    return over("prompt bytes", q.prompt.size(), storage::kMaxPromptBytes);
  }
  if (q.answer.size() > storage::kMaxAnswerBytes) {
    return over("answer bytes", q.answer.size(), storage::kMaxAnswerBytes);
  }
  if (q.source.size() > storage::kMaxSourceBytes) {
    return over("source bytes", q.source.size(), storage::kMaxSourceBytes);
  }
  if (q.tokens.size() > storage::kMaxTokens) {
    return over("tokens", q.tokens.size(), storage::kMaxTokens);
  }
  if (q.meta.size() > storage::kMaxMetaEntries) {
    return over("meta entries", q.meta.size(), storage::kMaxMetaEntries);
  }
  size_t meta_bytes = 0;
  for (const auto& [key, value] : q.meta) meta_bytes += key.size() + value.size();
  if (meta_bytes > storage::kMaxMetaBytes) {
    return over("meta bytes", meta_bytes, storage::kMaxMetaBytes);
  }
  return Status::OK();
}

size_t TextBytes(const NewQuery& q) {
  size_t bytes = q.prompt.size() + q.answer.size() + q.source.size() + 4 * q.tokens.size();
  for (const auto& [key, value] : q.meta) bytes += key.size() + value.size();
  return bytes;
}

}  // namespace

Status ParseQueryRow(std::string_view line, NewQuery* out, bool require_answer) {
  json row;
  try {
    row = json::parse(line);
  } catch (const json::exception& e) {
    return Status::InvalidArgument(JsonError(e));
  }
  if (!row.is_object()) return Status::InvalidArgument("not a JSON object");
  *out = NewQuery{};

  const json* prompt = Find(row, "prompt");
  if (prompt == nullptr) return Status::InvalidArgument("no \"prompt\"");
  if (prompt->is_string()) {
    out->prompt = prompt->get<std::string>();
  } else if (prompt->is_array()) {
    out->prompt = prompt->dump();  // a chat-message list, as verl rows carry it
  } else {
    return Status::InvalidArgument("\"prompt\" is not a string or a message list");
  }
  if (out->prompt.empty()) return Status::InvalidArgument("\"prompt\" is empty");

  const json* answer = Find(row, "answer");
  if (answer == nullptr) {
    const json* reward_model = Find(row, "reward_model");
    if (reward_model != nullptr && reward_model->is_object()) {
      answer = Find(*reward_model, "ground_truth");
    }
  }
  if (answer == nullptr) answer = Find(row, "label");
  if (answer != nullptr) HEAPA_RETURN_IF_ERROR(TextField(*answer, "answer", &out->answer));
  if (answer == nullptr && require_answer) {
    return Status::InvalidArgument("no \"reward_model.ground_truth\" (nor \"answer\", \"label\")");
  }

  const json* source = Find(row, "source");
  if (source == nullptr) source = Find(row, "data_source");
  if (source != nullptr) HEAPA_RETURN_IF_ERROR(TextField(*source, "source", &out->source));

  // The rest of a verl/slime row, kept so that `heapa export` can write the row back.
  if (const json* ability = Find(row, "ability"); ability != nullptr) {
    std::string text;
    HEAPA_RETURN_IF_ERROR(TextField(*ability, "ability", &text));
    out->meta.emplace_back(kMetaAbility, std::move(text));
  }
  if (const json* reward_model = Find(row, "reward_model"); reward_model != nullptr) {
    if (!reward_model->is_object()) {
      return Status::InvalidArgument("\"reward_model\" is not an object");
    }
    if (const json* style = Find(*reward_model, "style"); style != nullptr) {
      std::string text;
      HEAPA_RETURN_IF_ERROR(TextField(*style, "reward_model.style", &text));
      out->meta.emplace_back(kMetaRewardStyle, std::move(text));
    }
  }
  if (const json* extra = Find(row, "extra_info"); extra != nullptr) {
    if (!extra->is_object()) return Status::InvalidArgument("\"extra_info\" is not an object");
    out->meta.emplace_back(kMetaExtraInfo, extra->dump());
  }

  if (const json* reward = Find(row, "reward"); reward != nullptr) {
    if (!reward->is_number() || !std::isfinite(reward->get<double>())) {
      return Status::InvalidArgument("\"reward\" is not a finite number");
    }
    out->reward = reward->get<double>();
  }

  if (const json* meta = Find(row, "meta"); meta != nullptr) {
    if (!meta->is_object()) return Status::InvalidArgument("\"meta\" is not an object");
    for (const auto& [key, value] : meta->items()) {
      if (!value.is_string()) {
        return Status::InvalidArgument(fmt::format("meta \"{}\" is not a string", key));
      }
      out->meta.emplace_back(key, value.get<std::string>());
    }
  }

  if (const json* tokens = Find(row, "tokens"); tokens != nullptr) {
    if (!tokens->is_array()) return Status::InvalidArgument("\"tokens\" is not an array");
    for (const json& t : *tokens) {
      if (!t.is_number_unsigned() || t.get<uint64_t>() > std::numeric_limits<uint32_t>::max()) {
        return Status::InvalidArgument("\"tokens\" holds a value that is not a token id");
      }
      out->tokens.push_back(static_cast<uint32_t>(t.get<uint64_t>()));
    }
  }
  return CheckLimits(*out);
}

Result<ImportSummary> Import(net::Client& client, const ImportOptions& options) {
  const bool from_stdin = options.path == "-";
  const std::string name = from_stdin ? "<stdin>" : options.path;
  // Standard input is read once; checking it first (strict) needs a copy.
  std::string stdin_copy;
  if (from_stdin && options.strict) {
    std::ostringstream copy;
    copy << std::cin.rdbuf();
    stdin_copy = std::move(copy).str();
  }
  const auto open = [&]() -> Result<std::unique_ptr<std::istream>> {
    if (from_stdin) {
      return std::unique_ptr<std::istream>(std::make_unique<std::istringstream>(stdin_copy));
    }
    auto file = std::make_unique<std::ifstream>(options.path, std::ios::binary);
    if (!file->is_open()) {
      return Status::NotFound(fmt::format("cannot open {}: {}", name, std::strerror(errno)));
    }
    return std::unique_ptr<std::istream>(std::move(file));
  };

  if (options.strict) {
    HEAPA_ASSIGN_OR_RETURN(std::unique_ptr<std::istream> in, open());
    NewQuery scratch;
    HEAPA_RETURN_IF_ERROR(
        ForEachLine(*in, name, [&](uint64_t line, const std::string& text) -> Status {
          if (IsBlank(text)) return Status::OK();
          Status s = ParseQueryRow(text, &scratch, options.require_answer);
          return s.ok() ? s : s.WithContext(fmt::format("{}:{}", name, line));
        }));
  }

  std::unique_ptr<std::istream> owned;
  std::istream* in = &std::cin;
  if (!from_stdin || options.strict) {
    HEAPA_ASSIGN_OR_RETURN(owned, open());
    in = owned.get();
  }

  ImportSummary summary;
  dump::Progress progress(fmt::format("heapa import {}", name),
                          options.progress && isatty(STDERR_FILENO) == 1);
  // Batches go out options.pipeline at a time, pipelined (Client::InsertMany): the daemon
  // applies each while the one before it is written.
  std::vector<std::vector<NewQuery>> group(1);
  size_t batch_bytes = 0;
  uint64_t first_line = 0;
  uint64_t last_line = 0;
  const auto send = [&]() -> Status {
    if (group.back().empty()) group.pop_back();
    if (group.empty()) {
      group.emplace_back();
      return Status::OK();
    }
    Result<std::vector<std::vector<InsertResult>>> results = client.InsertMany(options.pool, group);
    if (!results.ok()) {
      return results.status().WithContext(
          fmt::format("{}: lines {}-{} ({} inserted before; some of these may be too)", name,
                      first_line, last_line, summary.queries));
    }
    for (const std::vector<InsertResult>& batch : *results) {
      for (const InsertResult& r : batch) ++(r.created ? summary.created : summary.duplicates);
      summary.queries += batch.size();
    }
    group.assign(1, {});
    first_line = 0;
    return Status::OK();
  };
  // Closes the current batch; sends the group once it holds options.pipeline batches.
  const auto close_batch = [&]() -> Status {
    batch_bytes = 0;
    if (group.size() >= std::max<size_t>(options.pipeline, 1)) return send();
    group.emplace_back();
    return Status::OK();
  };

  HEAPA_RETURN_IF_ERROR(
      ForEachLine(*in, name, [&](uint64_t line, const std::string& text) -> Status {
        summary.lines = line;
        if (IsBlank(text)) return Status::OK();
        NewQuery q;
        if (Status s = ParseQueryRow(text, &q, options.require_answer); !s.ok()) {
          ++summary.bad_lines;
          if (summary.rejected.size() < kMaxRejectedKept) {
            summary.rejected.push_back({line, std::string(s.message())});
          }
          progress.Done();
          fmt::print(stderr, "heapa: {}:{}: {}\n", name, line, s.message());
          return Status::OK();
        }
        progress.Update(line, fmt::format("lines, {} added, {} duplicates, {} rejected",
                                          summary.created, summary.duplicates, summary.bad_lines));
        q.step = options.step;
        const size_t bytes = TextBytes(q);
        if (!group.back().empty() && batch_bytes + bytes > options.batch_bytes) {
          HEAPA_RETURN_IF_ERROR(close_batch());
        }
        if (first_line == 0) first_line = line;
        last_line = line;
        batch_bytes += bytes;
        group.back().push_back(std::move(q));
        return group.back().size() >= options.batch ? close_batch() : Status::OK();
      }));
  HEAPA_RETURN_IF_ERROR(send());
  progress.Done();
  return summary;
}

}  // namespace heapa::cli
