// The pool-level verbs: pools, create, drop, config; and stats, checkpoint, checkpoints,
// restore, fork, digest.
#include <fmt/core.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "storage/digest.h"
#include "tools/cli/command.h"

namespace heapa::cli {
namespace {

struct CreateArgs {
  std::string pool;
  PoolConfig config;
  std::string sampling, eviction, refresh, weighting;  // empty: the default
};

struct TagArgs {
  std::string pool;
  std::string tag;
};

struct ForkArgs {
  std::string pool;
  std::string new_pool;
  std::string tag;  // empty: fork the live pool
};

void AddPools(CLI::App& app, Registry* registry) {
  CLI::App* sub = app.add_subcommand("pools", "List the daemon's pools");
  registry->Add(sub, [](net::Client& client) -> Result<Output> {
    HEAPA_ASSIGN_OR_RETURN(std::vector<std::string> pools, client.ListPools());
    Json j = Json::array();
    for (const std::string& pool : pools) j.push_back(pool);
    return Output{std::move(j), pools.empty() ? "no pools\n" : ""};
  });
}

void AddCreate(CLI::App& app, Registry* registry) {
  auto a = std::make_shared<CreateArgs>();
  CLI::App* sub = app.add_subcommand("create", "Create a pool");
  AddPoolArg(sub, &a->pool);
  PoolConfig& c = a->config;
  sub->add_option("--max-size", c.max_size, "Capacity of COLD + LOW + HIGH")
      ->capture_default_str()
      ->check(Unsigned());
  sub->add_option("--low-fraction", c.low_fraction, "Share of scored queries kept in LOW")
      ->capture_default_str();
  sub->add_option("--sampling", a->sampling, "medium (default) or mixed")
      ->check(CLI::IsMember(SamplingNames()));
  sub->add_option("--eviction", a->eviction, "reference (default) or extremes")
      ->check(CLI::IsMember(EvictionNames()));
  sub->add_option("--reinsert-below", c.reinsert_below,
                  "Reinsert the archive when fewer are pooled (0: fewer than the batch)")
      ->capture_default_str()
      ->check(Unsigned());
  sub->add_option("--seed", c.rng_seed, "Seed of the pool's RNG")
      ->capture_default_str()
      ->check(Unsigned());
  sub->add_option("--lease-ms", c.default_lease_ms, "Default lease of a sample")
      ->capture_default_str()
      ->check(AtLeast(1));
  sub->add_option("--refresh", a->refresh, "Refresh at reinsertion: off (default), child, path")
      ->check(CLI::IsMember(RefreshNames()));
  sub->add_option("--path-weighting", a->weighting, "softmax (default) or linear")
      ->check(CLI::IsMember(WeightingNames()));
  sub->add_option("--temperature", c.path_temperature, "Softmax temperature of path refresh")
      ->capture_default_str();
  sub->add_flag("--inverse-adjust", c.inverse_adjust,
                "Inverse difficulty adjustment on the child -> parent direction");
  registry->Add(sub, [a](net::Client& client) -> Result<Output> {
    PoolConfig config = a->config;
    if (!a->sampling.empty()) config.sampling = ParseSampling(a->sampling);
    if (!a->eviction.empty()) config.eviction = ParseEviction(a->eviction);
    if (!a->refresh.empty()) config.refresh = ParseRefresh(a->refresh);
    if (!a->weighting.empty()) config.path_weighting = ParseWeighting(a->weighting);
    HEAPA_RETURN_IF_ERROR(client.CreatePool(a->pool, config));
    return Output{{{"pool", a->pool}, {"config", ConfigJson(config)}},
                  fmt::format("created pool {}\n", a->pool)};
  });
}

// A verb that takes only POOL: `run` gets the client and the pool name.
template <typename Fn>
void AddPoolVerb(CLI::App& app, Registry* registry, const std::string& name,
                 const std::string& description, Fn run) {
  auto pool = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand(name, description);
  AddPoolArg(sub, pool.get());
  registry->Add(sub,
                [pool, run](net::Client& client) -> Result<Output> { return run(client, *pool); });
}

void AddDropAndConfig(CLI::App& app, Registry* registry) {
  AddPoolVerb(
      app, registry, "drop", "Drop a pool and its data",
      [](net::Client& client, const std::string& pool) -> Result<Output> {
        HEAPA_RETURN_IF_ERROR(client.DropPool(pool));
        return Output{{{"pool", pool}, {"dropped", true}}, fmt::format("dropped pool {}\n", pool)};
      });
  AddPoolVerb(app, registry, "config", "Show a pool's config",
              [](net::Client& client, const std::string& pool) -> Result<Output> {
                HEAPA_ASSIGN_OR_RETURN(PoolConfig config, client.GetConfig(pool));
                return Output{ConfigJson(config), ""};
              });
}

void AddStateVerbs(CLI::App& app, Registry* registry) {
  AddPoolVerb(app, registry, "stats", "Show a pool's counts and counters",
              [](net::Client& client, const std::string& pool) -> Result<Output> {
                HEAPA_ASSIGN_OR_RETURN(PoolStats stats, client.Stats(pool));
                return Output{StatsJson(stats), ""};
              });

  auto checkpoint = std::make_shared<TagArgs>();
  CLI::App* sub = app.add_subcommand("checkpoint", "Checkpoint a pool under a tag");
  AddPoolArg(sub, &checkpoint->pool);
  sub->add_option("tag", checkpoint->tag, "Checkpoint tag: [A-Za-z0-9._-], 1-64 characters")
      ->required();
  registry->Add(sub, [checkpoint](net::Client& client) -> Result<Output> {
    HEAPA_RETURN_IF_ERROR(client.Checkpoint(checkpoint->pool, checkpoint->tag));
    return Output{{{"pool", checkpoint->pool}, {"tag", checkpoint->tag}},
                  fmt::format("checkpoint {} of pool {}\n", checkpoint->tag, checkpoint->pool)};
  });

  AddPoolVerb(
      app, registry, "checkpoints", "List a pool's checkpoints",
      [](net::Client& client, const std::string& pool) -> Result<Output> {
        HEAPA_ASSIGN_OR_RETURN(auto checkpoints, client.ListCheckpoints(pool));
        return Output{CheckpointsJson(checkpoints), checkpoints.empty() ? "no checkpoints\n" : ""};
      });

  auto restore = std::make_shared<TagArgs>();
  sub = app.add_subcommand("restore", "Roll a pool back to a checkpoint");
  AddPoolArg(sub, &restore->pool);
  sub->add_option("tag", restore->tag, "Checkpoint tag")->required();
  registry->Add(sub, [restore](net::Client& client) -> Result<Output> {
    HEAPA_RETURN_IF_ERROR(client.Restore(restore->pool, restore->tag));
    return Output{{{"pool", restore->pool}, {"tag", restore->tag}, {"restored", true}},
                  fmt::format("restored pool {} to checkpoint {}\n", restore->pool, restore->tag)};
  });

  auto fork = std::make_shared<ForkArgs>();
  sub = app.add_subcommand("fork", "Copy a pool (or one of its checkpoints) to a new pool");
  AddPoolArg(sub, &fork->pool);
  sub->add_option("new_pool", fork->new_pool, "Name of the new pool")->required();
  sub->add_option("--tag", fork->tag, "Fork this checkpoint instead of the live pool");
  registry->Add(sub, [fork](net::Client& client) -> Result<Output> {
    std::optional<std::string> tag;
    if (!fork->tag.empty()) tag = fork->tag;
    HEAPA_RETURN_IF_ERROR(client.Fork(fork->pool, fork->new_pool, tag));
    return Output{{{"pool", fork->pool},
                   {"new_pool", fork->new_pool},
                   {"tag", tag ? Json(*tag) : Json(nullptr)}},
                  tag ? fmt::format("forked pool {} (checkpoint {}) into {}\n", fork->pool, *tag,
                                    fork->new_pool)
                      : fmt::format("forked pool {} into {}\n", fork->pool, fork->new_pool)};
  });

  AddPoolVerb(app, registry, "digest", "Print the digest of a pool's logical state",
              [](net::Client& client, const std::string& pool) -> Result<Output> {
                HEAPA_ASSIGN_OR_RETURN(Hash128 digest, client.Digest(pool));
                const std::string hex = storage::HashToHex(digest);
                return Output{{{"pool", pool}, {"digest", hex}}, hex + "\n"};
              });

  AddPoolVerb(app, registry, "verify",
              "Check that the daemon's index of a pool equals a rebuild from its storage",
              [](net::Client& client, const std::string& pool) -> Result<Output> {
                HEAPA_RETURN_IF_ERROR(client.VerifyIndex(pool));
                return Output{{{"pool", pool}, {"index", "matches storage"}},
                              fmt::format("pool {}: index matches storage\n", pool)};
              });
}

}  // namespace

void AddPoolCommands(CLI::App& app, Registry* registry) {
  AddPools(app, registry);
  AddCreate(app, registry);
  AddDropAndConfig(app, registry);
}

void AddStateCommands(CLI::App& app, Registry* registry) { AddStateVerbs(app, registry); }

}  // namespace heapa::cli
