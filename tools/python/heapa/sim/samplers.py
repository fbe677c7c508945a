"""The samplers heapa-sim compares.

`UniformSampler` (optionally with DAPO's zero-variance filter, applied by the loop) and
`PrioritizedSampler` (heapa-algorithm §9) run in this process over the static dataset;
`HeapaSampler` leases from a heapa pool in a running heapad (medium or mixed sampling,
optionally fed with augmented children) and reports every group back to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List

import numpy as np

from heapa import Child, Client, PoolConfig, RefreshMode, ReportItem, SamplingMode


@dataclass
class Batch:
    """The prompts of one generation round: keys (dataset index or pool id), difficulties."""

    keys: List[int]
    difficulty: np.ndarray
    leases: List[int] = field(default_factory=list)


class Sampler:
    """The interface: `setup` once, then `sample` / `report` / `add_children` per round."""

    name = "sampler"
    dapo_filter = False  # the loop resamples until a batch of informative groups is full
    augment = False  # the loop submits children of informative prompts

    def setup(self, difficulty: np.ndarray, rng: np.random.Generator) -> None:
        raise NotImplementedError

    def sample(self, k: int) -> Batch:
        raise NotImplementedError

    def report(self, batch: Batch, rewards: np.ndarray, step: int) -> None:
        pass

    def add_children(self, parents: List[int], difficulty: np.ndarray,
                     policy_difficulty: np.ndarray, step: int) -> None:
        raise NotImplementedError(f"{self.name} does not take children")


class UniformSampler(Sampler):
    """Epochs over the static dataset, reshuffled each epoch (a dataloader with shuffle)."""

    def __init__(self, dapo_filter: bool = False):
        self.dapo_filter = dapo_filter
        self.name = "uniform+dapo-filter" if dapo_filter else "uniform"

    def setup(self, difficulty: np.ndarray, rng: np.random.Generator) -> None:
        self.difficulty, self.rng = difficulty, rng
        self.order, self.pos = rng.permutation(len(difficulty)), 0

    def sample(self, k: int) -> Batch:
        keys: List[int] = []
        while len(keys) < k:
            if self.pos == len(self.order):
                self.order, self.pos = self.rng.permutation(len(self.difficulty)), 0
            take = self.order[self.pos:self.pos + k - len(keys)]
            self.pos += len(take)
            keys.extend(int(x) for x in take)
        return Batch(keys, self.difficulty[keys])


class PrioritizedSampler(Sampler):
    """heapa-algorithm §9: unvisited prompts first (FIFO), then sampling without replacement
    with weight ((1 - s) + eps)^(1/T), s the running mean success rate; prompts stay."""

    name = "prioritized"

    def __init__(self, eps: float = 0.1, temperature: float = 1.0):
        self.eps, self.temperature = eps, temperature

    def setup(self, difficulty: np.ndarray, rng: np.random.Generator) -> None:
        self.difficulty, self.rng = difficulty, rng
        self.cold, self.pos = rng.permutation(len(difficulty)), 0
        self.visits = np.zeros(len(difficulty))
        self.success = np.zeros(len(difficulty))

    def sample(self, k: int) -> Batch:
        keys = [int(x) for x in self.cold[self.pos:self.pos + k]]
        self.pos += len(keys)
        need = k - len(keys)
        if need > 0:
            scored = np.flatnonzero(self.visits > 0)
            scored = scored[~np.isin(scored, keys)]
            w = ((1.0 - self.success[scored]) + self.eps) ** (1.0 / self.temperature)
            pick = self.rng.choice(len(scored), size=min(need, len(scored)), replace=False,
                                   p=w / w.sum())
            keys.extend(int(x) for x in scored[pick])
        return Batch(keys, self.difficulty[keys])

    def report(self, batch: Batch, rewards: np.ndarray, step: int) -> None:
        s = (rewards.mean(axis=1) + 1.0) / 2.0
        keys = np.asarray(batch.keys)
        self.success[keys] = (self.success[keys] * self.visits[keys] + s) / (self.visits[keys] + 1)
        self.visits[keys] += 1


class HeapaSampler(Sampler):
    """A heapa pool in heapad: seeds inserted unscored, groups reported, children inserted."""

    LEASE_MS = 24 * 3600 * 1000  # a synthetic step never outlives its lease

    def __init__(self, client: Client, pool: str, mode: str, augment: bool, seed: int,
                 reinsert_below: float = 0.0):
        self.client, self.pool, self.augment, self.seed = client, pool, augment, seed
        self.reinsert_below = reinsert_below  # a fraction of the dataset; 0: the reference
        self.mode = mode
        self.name = f"heapa-{mode}" + ("+aug" if augment else "")
        self.difficulty_of: Dict[int, float] = {}

    def config(self, max_size: int) -> PoolConfig:
        return PoolConfig(
            max_size=max_size, rng_seed=self.seed,
            reinsert_below=int(self.reinsert_below * max_size),
            sampling=SamplingMode.MIXED if self.mode == "mixed" else SamplingMode.MEDIUM,
            refresh=RefreshMode.PATH if self.augment else RefreshMode.OFF)

    def setup(self, difficulty: np.ndarray, rng: np.random.Generator) -> None:
        if self.pool in self.client.list_pools():
            self.client.drop_pool(self.pool)
        self.client.create_pool(self.pool, self.config(len(difficulty)))
        order = rng.permutation(len(difficulty))
        for start in range(0, len(order), 5000):
            chunk = order[start:start + 5000]
            results = self.client.insert(
                self.pool, [{"prompt": f"p{i}", "answer": "a", "source": "sim"} for i in chunk])
            for r, i in zip(results, chunk):
                self.difficulty_of[r.id] = float(difficulty[i])

    def sample(self, k: int) -> Batch:
        items = self.client.sample(self.pool, k, lease_ms=self.LEASE_MS, with_content=False)
        keys = [s.id for s in items]
        return Batch(keys, np.array([self.difficulty_of[i] for i in keys]),
                     [s.lease for s in items])

    def report(self, batch: Batch, rewards: np.ndarray, step: int) -> None:
        self.client.report(self.pool, [ReportItem(i, lease, list(r), step)
                                       for i, lease, r in zip(batch.keys, batch.leases, rewards)])

    def add_children(self, parents: List[int], difficulty: np.ndarray,
                     policy_difficulty: np.ndarray, step: int) -> None:
        children = [Child(parents=[p], prompt=f"c{step}.{j}", answer="a", source="sim-aug",
                          policy_difficulty=float(f), validated=True, step=step)
                    for j, (p, f) in enumerate(zip(parents, policy_difficulty))]
        for r, d in zip(self.client.insert_children(self.pool, children), difficulty):
            if r.created:
                self.difficulty_of[r.id] = float(d)
