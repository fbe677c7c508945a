#include "index/query_checks.h"

#include "storage/records.h"

namespace heapa::index {
namespace {

Status TooLarge(std::string_view field, size_t size, size_t limit, std::string_view unit) {
  return Status::InvalidArgument(std::string(field) + " of " + std::to_string(size) + " " +
                                 std::string(unit) + " exceeds " + std::to_string(limit));
}

}  // namespace

Status CheckQueryFields(std::string_view prompt, std::string_view answer, std::string_view source,
                        size_t token_count,
                        const std::vector<std::pair<std::string, std::string>>& meta) {
  if (prompt.empty()) return Status::InvalidArgument("empty prompt");
  if (prompt.size() > storage::kMaxPromptBytes) {
    return TooLarge("prompt", prompt.size(), storage::kMaxPromptBytes, "bytes");
  }
  if (answer.size() > storage::kMaxAnswerBytes) {
    return TooLarge("answer", answer.size(), storage::kMaxAnswerBytes, "bytes");
  }
  if (source.size() > storage::kMaxSourceBytes) {
    return TooLarge("source", source.size(), storage::kMaxSourceBytes, "bytes");
  }
  if (token_count > storage::kMaxTokens) {
    return TooLarge("token list", token_count, storage::kMaxTokens, "tokens");
  }
  if (meta.size() > storage::kMaxMetaEntries) {
    return TooLarge("meta", meta.size(), storage::kMaxMetaEntries, "entries");
  }
  size_t meta_bytes = 0;
  for (const auto& [k, v] : meta) meta_bytes += k.size() + v.size();
  if (meta_bytes > storage::kMaxMetaBytes) {
    return TooLarge("meta", meta_bytes, storage::kMaxMetaBytes, "bytes");
  }
  return Status::OK();
}

}  // namespace heapa::index
