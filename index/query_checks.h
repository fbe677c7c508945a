// Size and content checks of a query's fields, shared by Insert and InsertChildren.
#ifndef HEAPA_INDEX_QUERY_CHECKS_H_
#define HEAPA_INDEX_QUERY_CHECKS_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/status.h"

namespace heapa::index {

// InvalidArgument naming the field and the limit (storage/records.h) that a query breaks:
// an empty prompt, or a prompt, answer, source, token list or meta beyond its limit.
Status CheckQueryFields(std::string_view prompt, std::string_view answer, std::string_view source,
                        size_t token_count,
                        const std::vector<std::pair<std::string, std::string>>& meta);

}  // namespace heapa::index

#endif  // HEAPA_INDEX_QUERY_CHECKS_H_
