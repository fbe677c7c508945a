// The query-level verbs: insert, child, validate, sample, report, reinsert, recover, get,
// lineage, refresh.
#include <fmt/core.h>

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "tools/cli/command.h"
#include "tools/cli/import.h"

namespace heapa::cli {
namespace {

struct InsertArgs {
  std::string pool, prompt, answer, source, file;
  double reward = 0;
  bool strict = false;
  int64_t step = 0;
  CLI::Option* reward_given = nullptr;
};

struct ChildArgs {
  std::string pool;
  NewChild child;
  double est_reward = 0;
  CLI::Option* est_reward_given = nullptr;
};

struct ValidateArgs {
  std::string pool;
  QueryId id = 0;
  bool accept = false, reject = false;
  std::string answer;
  double teacher_difficulty = 1.0;
  CLI::Option* answer_given = nullptr;
  CLI::Option* teacher_given = nullptr;
};

struct SampleArgs {
  std::string pool;
  SampleRequest request{.count = 1};
  bool no_content = false;
};

struct ReportArgs {
  std::string pool;
  ReportItem item;
};

struct QueryArgs {
  std::string pool;
  QueryId id = 0;
  uint32_t depth = 8;
};

struct RefreshArgs {
  std::string pool;
  std::string mode;  // empty: the pool's configured refresh
  std::string weighting = "softmax";
  index::RefreshOptions options;
};

Result<Output> InsertOne(net::Client& client, const InsertArgs& a) {
  NewQuery q;
  q.prompt = a.prompt;
  q.answer = a.answer;
  q.source = a.source;
  q.step = a.step;
  if (a.reward_given->count() > 0) q.reward = a.reward;
  HEAPA_ASSIGN_OR_RETURN(std::vector<InsertResult> results,
                         client.Insert(a.pool, std::span<const NewQuery>(&q, 1)));
  if (results.size() != 1) return Status::Internal("the daemon answered no insert result");
  const InsertResult& r = results.front();
  return Output{{{"id", r.id}, {"created", r.created}},
                r.created ? fmt::format("inserted query {}\n", r.id)
                          : fmt::format("query {} already has this prompt and answer\n", r.id)};
}

Result<Output> InsertFile(net::Client& client, const InsertArgs& a) {
  ImportOptions options{.pool = a.pool, .path = a.file, .strict = a.strict, .step = a.step};
  HEAPA_ASSIGN_OR_RETURN(ImportSummary s, Import(client, options));
  return Output{{{"pool", a.pool},
                 {"file", a.file},
                 {"lines", s.lines},
                 {"queries", s.queries},
                 {"created", s.created},
                 {"duplicates", s.duplicates},
                 {"bad_lines", s.bad_lines}},
                fmt::format("{}: {} lines, {} created, {} duplicates, {} bad lines\n",
                            a.file == "-" ? "<stdin>" : a.file, s.lines, s.created, s.duplicates,
                            s.bad_lines)};
}

void AddInsert(CLI::App& app, Registry* registry) {
  auto a = std::make_shared<InsertArgs>();
  CLI::App* sub = app.add_subcommand("insert", "Insert one query, or the rows of a JSONL file");
  AddPoolArg(sub, &a->pool);
  CLI::Option_group* input = sub->add_option_group("input", "What to insert (one of)");
  CLI::Option* prompt = input->add_option("--prompt", a->prompt, "The prompt of one query");
  CLI::Option* file = input->add_option(
      "--file", a->file,
      "JSONL rows: prompt, answer, source, reward, meta, tokens ('-': standard input)");
  input->require_option(1);
  sub->add_option("--answer", a->answer, "Ground truth")->needs(prompt);
  sub->add_option("--source", a->source, "Dataset tag")->needs(prompt);
  a->reward_given =
      sub->add_option("--reward", a->reward, "Known reward (default: unscored)")->needs(prompt);
  sub->add_flag("--strict", a->strict, "Fail on the first bad row, before inserting anything")
      ->needs(file);
  sub->add_option("--step", a->step, "The trainer's step at creation")->capture_default_str();
  registry->Add(sub, [a](net::Client& client) {
    return a->file.empty() ? InsertOne(client, *a) : InsertFile(client, *a);
  });
}

void AddChild(CLI::App& app, Registry* registry) {
  auto a = std::make_shared<ChildArgs>();
  NewChild& c = a->child;
  CLI::App* sub = app.add_subcommand("child", "Insert an augmented child of existing queries");
  AddPoolArg(sub, &a->pool);
  sub->add_option("--parent", c.parents, "A parent id (repeat for several)")
      ->required()
      ->check(Unsigned());
  sub->add_option("--prompt", c.prompt, "The child's prompt")->required();
  sub->add_option("--answer", c.answer, "Ground truth");
  sub->add_option("--source", c.source, "Dataset tag");
  sub->add_option("--difficulty", c.policy_difficulty, "The policy's difficulty factor (> 0)")
      ->capture_default_str();
  a->est_reward_given = sub->add_option("--est-reward", a->est_reward,
                                        "Estimated reward (default: from the first parent)");
  sub->add_flag("--validated", c.validated, "Admit at once instead of waiting for validate");
  sub->add_option("--step", c.step, "The trainer's step at creation")->capture_default_str();
  registry->Add(sub, [a](net::Client& client) -> Result<Output> {
    NewChild child = a->child;
    if (a->est_reward_given->count() > 0) child.est_reward = a->est_reward;
    HEAPA_ASSIGN_OR_RETURN(std::vector<InsertResult> results,
                           client.InsertChildren(a->pool, std::span<const NewChild>(&child, 1)));
    if (results.size() != 1) return Status::Internal("the daemon answered no insert result");
    const InsertResult& r = results.front();
    std::string human =
        !r.created        ? fmt::format("query {} already has this prompt and answer\n", r.id)
        : child.validated ? fmt::format("inserted child {}\n", r.id)
                          : fmt::format("inserted child {} (pending validation)\n", r.id);
    return Output{{{"id", r.id}, {"created", r.created}}, std::move(human)};
  });
}

void AddValidate(CLI::App& app, Registry* registry) {
  auto a = std::make_shared<ValidateArgs>();
  CLI::App* sub = app.add_subcommand("validate", "Accept or reject a pending child");
  AddPoolArg(sub, &a->pool);
  sub->add_option("id", a->id, "Query id")->required()->check(Unsigned());
  CLI::Option_group* decision = sub->add_option_group("decision", "The verdict (one of)");
  decision->add_flag("--accept", a->accept, "Admit the child into the pool");
  decision->add_flag("--reject", a->reject, "Reject the child for good");
  decision->require_option(1);
  a->answer_given = sub->add_option("--answer", a->answer, "Replace the child's answer");
  a->teacher_given = sub->add_option("--teacher-difficulty", a->teacher_difficulty,
                                     "The teacher's difficulty factor");
  registry->Add(sub, [a](net::Client& client) -> Result<Output> {
    std::optional<std::string> answer;
    std::optional<double> teacher;
    if (a->answer_given->count() > 0) answer = a->answer;
    if (a->teacher_given->count() > 0) teacher = a->teacher_difficulty;
    HEAPA_RETURN_IF_ERROR(client.Validate(a->pool, a->id, a->accept, answer, teacher));
    return Output{{{"id", a->id}, {"accepted", a->accept}},
                  fmt::format("{} query {}\n", a->accept ? "accepted" : "rejected", a->id)};
  });
}

void AddSample(CLI::App& app, Registry* registry) {
  auto a = std::make_shared<SampleArgs>();
  CLI::App* sub = app.add_subcommand("sample", "Lease a batch of queries");
  AddPoolArg(sub, &a->pool);
  sub->add_option("--count", a->request.count, "Queries to sample")
      ->capture_default_str()
      ->check(AtLeast(1));
  sub->add_option("--lease-ms", a->request.lease_ms, "Lease length (0: the pool's default)")
      ->capture_default_str()
      ->check(AtLeast(0));
  sub->add_flag("--no-content", a->no_content, "Ids, leases and rewards only");
  registry->Add(sub, [a](net::Client& client) -> Result<Output> {
    SampleRequest request = a->request;
    request.with_content = !a->no_content;
    HEAPA_ASSIGN_OR_RETURN(std::vector<SampledQuery> sampled, client.Sample(a->pool, request));
    return Output{SampleJson(sampled, request.with_content),
                  SampleHuman(sampled, request.with_content)};
  });
}

void AddReport(CLI::App& app, Registry* registry) {
  auto a = std::make_shared<ReportArgs>();
  CLI::App* sub = app.add_subcommand("report", "Report the rollout rewards of a sampled query");
  AddPoolArg(sub, &a->pool);
  sub->add_option("id", a->item.id, "Query id")->required()->check(Unsigned());
  sub->add_option("lease", a->item.lease, "Lease id from sample")->required()->check(Unsigned());
  sub->add_option("rewards", a->item.rewards, "One reward per rollout")->required();
  sub->add_option("--step", a->item.step, "The trainer's step")->capture_default_str();
  registry->Add(sub, [a](net::Client& client) -> Result<Output> {
    HEAPA_ASSIGN_OR_RETURN(std::vector<ReportOutcome> outcomes,
                           client.Report(a->pool, std::span<const ReportItem>(&a->item, 1)));
    if (outcomes.size() != 1) return Status::Internal("the daemon answered no report outcome");
    const std::string_view outcome = OutcomeName(outcomes.front());
    return Output{{{"id", a->item.id}, {"lease", a->item.lease}, {"outcome", outcome}},
                  fmt::format("query {}, lease {}: {}\n", a->item.id, a->item.lease, outcome)};
  });
}

void AddCountVerbs(CLI::App& app, Registry* registry) {
  auto reinsert = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand("reinsert", "Move the archived queries back into the pool");
  AddPoolArg(sub, reinsert.get());
  registry->Add(sub, [reinsert](net::Client& client) -> Result<Output> {
    HEAPA_ASSIGN_OR_RETURN(size_t n, client.Reinsert(*reinsert));
    return Output{{{"pool", *reinsert}, {"reinserted", n}},
                  fmt::format("reinserted {} queries\n", n)};
  });
  auto recover = std::make_shared<std::string>();
  sub = app.add_subcommand("recover", "Return every in-flight query to the pool (after a crash)");
  AddPoolArg(sub, recover.get());
  registry->Add(sub, [recover](net::Client& client) -> Result<Output> {
    HEAPA_ASSIGN_OR_RETURN(size_t n, client.Recover(*recover));
    return Output{{{"pool", *recover}, {"recovered", n}}, fmt::format("recovered {} queries\n", n)};
  });
}

void AddGetAndLineage(CLI::App& app, Registry* registry) {
  auto get = std::make_shared<QueryArgs>();
  CLI::App* sub = app.add_subcommand("get", "Show one query: record, state and statistics");
  AddPoolArg(sub, &get->pool);
  sub->add_option("id", get->id, "Query id")->required()->check(Unsigned());
  registry->Add(sub, [get](net::Client& client) -> Result<Output> {
    HEAPA_ASSIGN_OR_RETURN(QueryInfo info, client.Get(get->pool, get->id));
    return Output{QueryInfoJson(info), ""};
  });

  auto lineage = std::make_shared<QueryArgs>();
  sub = app.add_subcommand("lineage", "Show a query's parents, children, ancestors, descendants");
  AddPoolArg(sub, &lineage->pool);
  sub->add_option("id", lineage->id, "Query id")->required()->check(Unsigned());
  sub->add_option("--depth", lineage->depth, "Levels of ancestors and descendants")
      ->capture_default_str()
      ->check(Unsigned());
  registry->Add(sub, [lineage](net::Client& client) -> Result<Output> {
    HEAPA_ASSIGN_OR_RETURN(LineageView view,
                           client.Lineage(lineage->pool, lineage->id, lineage->depth));
    return Output{LineageJson(lineage->id, view), LineageHuman(lineage->id, view)};
  });
}

void AddRefresh(CLI::App& app, Registry* registry) {
  auto a = std::make_shared<RefreshArgs>();
  CLI::App* sub = app.add_subcommand(
      "refresh", "Dry run of the re-estimation from children (nothing is written)");
  AddPoolArg(sub, &a->pool);
  CLI::Option* mode = sub->add_option("--mode", a->mode, "child or path (default: pool config)")
                          ->check(CLI::IsMember({"child", "path"}));
  sub->add_option("--weighting", a->weighting, "Path weighting: softmax or linear")
      ->capture_default_str()
      ->check(CLI::IsMember(WeightingNames()))
      ->needs(mode);
  sub->add_option("--temperature", a->options.temperature, "Softmax temperature")
      ->capture_default_str()
      ->needs(mode);
  sub->add_flag("--inverse-adjust", a->options.inverse_adjust, "Inverse difficulty adjustment")
      ->needs(mode);
  registry->Add(sub, [a](net::Client& client) -> Result<Output> {
    std::optional<index::RefreshOptions> options;
    if (!a->mode.empty()) {
      options = a->options;
      options->mode = ParseRefresh(a->mode);
      options->weighting = ParseWeighting(a->weighting);
    }
    HEAPA_ASSIGN_OR_RETURN(auto values, client.Refresh(a->pool, options));
    return Output{RefreshJson(values), values.empty() ? "nothing to refresh\n" : ""};
  });
}

}  // namespace

void AddQueryCommands(CLI::App& app, Registry* registry) {
  AddInsert(app, registry);
  AddChild(app, registry);
  AddValidate(app, registry);
  AddSample(app, registry);
  AddReport(app, registry);
  AddCountVerbs(app, registry);
  AddGetAndLineage(app, registry);
  AddRefresh(app, registry);
}

}  // namespace heapa::cli
