#include "tests/testutil/load_checker.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <thread>

#include "net/client.h"

namespace heapa::testing {
namespace {

std::unique_ptr<net::Client> ConnectTo(uint16_t port, int64_t timeout_ms, int attempts,
                                       uint64_t client_id) {
  net::ClientOptions o;
  o.port = port;
  o.timeout_ms = timeout_ms;
  o.max_attempts = attempts;
  o.retry_backoff_ms = 50;
  o.client_id = client_id;
  o.client_name = "load-checker";
  auto c = net::Client::Connect(o);
  return c.ok() ? std::move(c).value() : nullptr;
}

}  // namespace

// What one client saw; merged into the checker when the client stops.
struct LoadChecker::ClientLog {
  std::map<std::string, QueryId> inserted;
  std::set<std::string> maybe_inserted;
  std::map<QueryId, uint64_t> reports_acked, reports_attempted;
  std::map<QueryId, LeaseId> outstanding;
  std::map<QueryId, QueryId> children;
  std::map<QueryId, bool> validated;
  std::set<QueryId> validate_attempted;
  uint64_t max_durable_seq = 0;
  Counts counts;
};

LoadChecker::LoadChecker(uint16_t port, std::string pool, uint64_t seed)
    : port_(port), pool_(std::move(pool)), seed_(seed) {
  auto c = ConnectTo(port_, 10000, 5, 0);
  REQUIRE(c != nullptr);
  PoolConfig config;
  config.max_size = 1'000'000;  // nothing acknowledged is evicted
  const Status s = c->CreatePool(pool_, config);
  INFO(s.ToString());
  REQUIRE(s.ok());
}

void LoadChecker::Run(int clients, int ops_per_client) {
  ++round_;
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i) {
    const uint64_t seed = seed_ * 1'000'003 + round_ * 1009 + static_cast<uint64_t>(i);
    threads.emplace_back([this, i, seed, ops_per_client] { RunClient(i, seed, ops_per_client); });
  }
  for (std::thread& t : threads) t.join();
}

void LoadChecker::RunClient(int index, uint64_t seed, int ops) {
  std::mt19937_64 rng(seed);
  ClientLog log;
  auto c = ConnectTo(port_, 3000, 3, rng() | 1);
  if (c == nullptr) return;
  const std::string tag = "r" + std::to_string(round_) + "c" + std::to_string(index) + "-";
  std::vector<QueryId> pending_children;
  int next = 0;
  bool alive = true;
  for (int op = 0; op < ops && alive; ++op) {
    int kind = static_cast<int>(rng() % 10);
    if ((kind == 5 || kind == 6) && log.outstanding.empty()) kind = 3;
    if (kind == 7 && log.inserted.empty()) kind = 0;
    if (kind == 8 && pending_children.empty()) kind = 1;
    if (kind == 9 && log.inserted.empty()) kind = 2;
    if (kind <= 2) {
      std::vector<NewQuery> qs(1 + rng() % 4);
      for (NewQuery& q : qs) {
        q.prompt = tag + std::to_string(next++);
        q.answer = "a";
        if (rng() % 2) q.reward = static_cast<double>(rng() % 9) / 4.0 - 1.0;
      }
      auto r = c->Insert(pool_, qs);
      if (!r.ok()) {
        for (const NewQuery& q : qs) log.maybe_inserted.insert(q.prompt);
        alive = false;
        break;
      }
      for (size_t i = 0; i < qs.size(); ++i) log.inserted[qs[i].prompt] = (*r)[i].id;
      ++log.counts.inserts;
    } else if (kind <= 4) {
      SampleRequest req;
      req.count = static_cast<uint32_t>(1 + rng() % 8);
      req.lease_ms = 600'000;  // never expires during the test
      req.with_content = false;
      auto r = c->Sample(pool_, req);
      if (!r.ok()) {
        alive = false;
        break;
      }
      for (const SampledQuery& sq : *r) log.outstanding[sq.id] = sq.lease;
      ++log.counts.samples;
    } else if (kind <= 6) {
      std::vector<ReportItem> items;
      while (!log.outstanding.empty() && items.size() < 1 + rng() % 4) {
        auto it = log.outstanding.begin();
        std::advance(it, static_cast<long>(rng() % log.outstanding.size()));
        items.push_back({it->first, it->second, {1.0, rng() % 2 ? 1.0 : -1.0}, op});
        ++log.reports_attempted[it->first];
        log.outstanding.erase(it);
      }
      auto r = c->Report(pool_, items);
      if (!r.ok()) {
        alive = false;
        break;
      }
      for (size_t i = 0; i < items.size(); ++i) {
        if ((*r)[i] == ReportOutcome::kApplied) ++log.reports_acked[items[i].id];
      }
      ++log.counts.reports;
    } else if (kind == 7) {
      auto it = log.inserted.begin();
      std::advance(it, static_cast<long>(rng() % log.inserted.size()));
      NewChild child;
      child.parents = {it->second};
      child.prompt = tag + "child-" + std::to_string(next++);
      child.policy_difficulty = 1.5;
      auto r = c->InsertChildren(pool_, std::vector<NewChild>{child});
      if (!r.ok()) {
        log.maybe_inserted.insert(child.prompt);
        alive = false;
        break;
      }
      log.children[(*r)[0].id] = it->second;
      pending_children.push_back((*r)[0].id);
      ++log.counts.children;
    } else if (kind == 8) {
      const QueryId id = pending_children.back();
      pending_children.pop_back();
      const bool accept = rng() % 2 == 0;
      log.validate_attempted.insert(id);
      if (!c->Validate(pool_, id, accept).ok()) {
        alive = false;
        break;
      }
      log.validated[id] = accept;
      ++log.counts.validations;
    } else {
      auto it = log.inserted.begin();
      std::advance(it, static_cast<long>(rng() % log.inserted.size()));
      if (!c->Get(pool_, it->second).ok()) alive = false;
    }
    log.max_durable_seq = std::max(log.max_durable_seq, c->durable_seq(pool_));
  }
  if (!alive) ++log.counts.unknown;
  Merge(log);
}

void LoadChecker::Merge(const ClientLog& log) {
  std::lock_guard<std::mutex> lock(mu_);
  inserted_.insert(log.inserted.begin(), log.inserted.end());
  maybe_inserted_.insert(log.maybe_inserted.begin(), log.maybe_inserted.end());
  for (const auto& [id, n] : log.reports_acked) reports_acked_[id] += n;
  for (const auto& [id, n] : log.reports_attempted) reports_attempted_[id] += n;
  for (const auto& [id, lease] : log.outstanding) outstanding_[id] = lease;
  children_.insert(log.children.begin(), log.children.end());
  for (const auto& [id, accept] : log.validated) validated_[id] = accept;
  validate_attempted_.insert(log.validate_attempted.begin(), log.validate_attempted.end());
  max_durable_seq_ = std::max(max_durable_seq_, log.max_durable_seq);
  counts_.inserts += log.counts.inserts;
  counts_.samples += log.counts.samples;
  counts_.reports += log.counts.reports;
  counts_.children += log.counts.children;
  counts_.validations += log.counts.validations;
  counts_.unknown += log.counts.unknown;
}

LoadChecker::Counts LoadChecker::counts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counts_;
}

std::vector<std::string> LoadChecker::Verify() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> bad;
  auto c = ConnectTo(port_, 20000, 5, 0);
  if (c == nullptr) return {"cannot connect to the restarted daemon"};
  auto info = [&](QueryId id) -> std::optional<QueryInfo> {
    auto r = c->Get(pool_, id);
    if (!r.ok()) {
      bad.push_back("query " + std::to_string(id) + ": " + r.status().ToString());
      return std::nullopt;
    }
    return *r;
  };
  for (const auto& [prompt, id] : inserted_) {
    auto q = info(id);
    if (q && q->query.prompt != prompt) {
      bad.push_back("query " + std::to_string(id) + " holds '" + q->query.prompt + "', not '" +
                    prompt + "'");
    }
  }
  for (const auto& [id, attempted] : reports_attempted_) {
    auto q = info(id);
    if (!q) continue;
    const uint64_t acked = reports_acked_.count(id) ? reports_acked_.at(id) : 0;
    if (q->stats.reports < acked || q->stats.reports > attempted) {
      bad.push_back("query " + std::to_string(id) + " has " + std::to_string(q->stats.reports) +
                    " reports; acknowledged " + std::to_string(acked) + ", attempted " +
                    std::to_string(attempted));
    }
  }
  for (const auto& [id, lease] : outstanding_) {
    auto q = info(id);
    if (q && (q->state.state != QueryState::kInFlight || q->state.lease != lease)) {
      bad.push_back("query " + std::to_string(id) + " leased under " + std::to_string(lease) +
                    " is " + std::string(storage::QueryStateName(q->state.state)) + " lease " +
                    std::to_string(q->state.lease));
    }
  }
  for (const auto& [child, parent] : children_) {
    auto lineage = c->Lineage(pool_, child, 1);
    if (!lineage.ok() || std::find(lineage->parents.begin(), lineage->parents.end(), parent) ==
                             lineage->parents.end()) {
      bad.push_back("child " + std::to_string(child) + " lost its parent " +
                    std::to_string(parent));
    }
    auto q = info(child);
    if (!q) continue;
    const QueryState st = q->state.state;
    auto v = validated_.find(child);
    if (v != validated_.end()) {
      if ((v->second && (st == QueryState::kPending || st == QueryState::kRejected)) ||
          (!v->second && st != QueryState::kRejected)) {
        bad.push_back("child " + std::to_string(child) + " validated (accept " +
                      std::to_string(v->second) + ") is " +
                      std::string(storage::QueryStateName(st)));
      }
    } else if (!validate_attempted_.count(child) && st != QueryState::kPending) {
      bad.push_back("child " + std::to_string(child) + " never validated is " +
                    std::string(storage::QueryStateName(st)));
    }
  }
  auto stats = c->Stats(pool_);
  if (!stats.ok()) {
    bad.push_back("stats: " + stats.status().ToString());
  } else {
    const uint64_t added = stats->counters.total_added;
    const uint64_t at_least = inserted_.size() + children_.size();
    const uint64_t at_most = at_least + maybe_inserted_.size();
    if (added < at_least || added > at_most) {
      bad.push_back("total_added " + std::to_string(added) + " outside [" +
                    std::to_string(at_least) + ", " + std::to_string(at_most) + "]");
    }
    if (stats->counters.durable_seq < max_durable_seq_) {
      bad.push_back("durable seq went back from " + std::to_string(max_durable_seq_) + " to " +
                    std::to_string(stats->counters.durable_seq));
    }
  }
  const Status verified = c->VerifyIndex(pool_);
  if (!verified.ok()) bad.push_back("VerifyIndex: " + verified.ToString());
  return bad;
}

}  // namespace heapa::testing
