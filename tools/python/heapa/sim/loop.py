"""The training loop of heapa-sim: one `Trainer` per sampler.

Each optimizer step: sample a batch, generate `rollouts` rollouts per prompt, report the
groups, optionally submit children of informative prompts, and (with the DAPO filter) keep
sampling until `batch` informative groups are collected or `max_gen_batches` rounds were
generated. The policy then learns from the informative groups used. `state()` and
`load_state()` capture everything the trainer holds, for the preemption scenario.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from heapa.sim.samplers import HeapaSampler, Sampler
from heapa.sim.world import World, WorldConfig


@dataclass
class LoopConfig:
    batch: int = 512
    rollouts: int = 16
    target: float = 0.6
    max_steps: int = 200
    max_gen_batches: int = 20
    aug_fraction: float = 0.25  # children per step, as a fraction of the batch


@dataclass
class RunResult:
    """The measurements of one sampler's run."""

    sampler: str
    steps: int = 0
    rollouts: int = 0
    groups: int = 0
    informative: int = 0
    children: int = 0
    reached_step: Optional[int] = None
    reached_rollouts: Optional[int] = None
    final_accuracy: float = 0.0
    seconds: float = 0.0
    curve: List[Tuple[int, float]] = field(default_factory=list)  # (rollouts, accuracy)
    batches: List[List[int]] = field(default_factory=list)  # the keys of each step's batches

    @property
    def informative_share(self) -> float:
        return self.informative / self.groups if self.groups else 0.0


class Trainer:
    """One sampler driven through the synthetic RLVR loop."""

    def __init__(self, world_config: WorldConfig, loop: LoopConfig, sampler: Sampler,
                 seed: int):
        self.world = World(world_config, seed)
        self.loop, self.sampler, self.seed = loop, sampler, seed
        self.rng = np.random.default_rng([seed, 1])
        self.result = RunResult(sampler.name)
        self.result.curve.append((0, self.world.heldout_accuracy()))

    def setup(self) -> None:
        self.sampler.setup(self.world.difficulty, np.random.default_rng([self.seed, 2]))

    @property
    def done(self) -> bool:
        r = self.result
        return r.reached_step is not None or r.steps >= self.loop.max_steps

    def step(self) -> None:
        """One optimizer step (one or more generation rounds)."""
        loop, r, step = self.loop, self.result, self.result.steps
        used, rounds, keys = 0, 0, []
        while True:
            batch = self.sampler.sample(loop.batch)
            rounds += 1
            keys.extend(batch.keys)
            rewards = self.world.rollouts(batch.difficulty, loop.rollouts, self.rng)
            informative = rewards.min(axis=1) != rewards.max(axis=1)
            self.sampler.report(batch, rewards, step)
            if self.sampler.augment:
                self._augment(batch, informative, step)
            r.rollouts += rewards.size
            r.groups += len(rewards)
            r.informative += int(informative.sum())
            used += int(informative.sum())
            if not self.sampler.dapo_filter or used >= loop.batch or rounds >= loop.max_gen_batches:
                break
        self.world.learn(min(used, loop.batch), loop.batch)
        r.steps += 1
        r.batches.append(keys)
        accuracy = self.world.heldout_accuracy()
        r.curve.append((r.rollouts, accuracy))
        r.final_accuracy = accuracy
        if r.reached_step is None and accuracy >= loop.target:
            r.reached_step, r.reached_rollouts = r.steps, r.rollouts

    def _augment(self, batch, informative: np.ndarray, step: int) -> None:
        idx = np.flatnonzero(informative)
        want = int(self.loop.batch * self.loop.aug_fraction)
        if len(idx) > want:
            idx = np.sort(self.rng.choice(idx, size=want, replace=False))
        if len(idx) == 0:
            return
        parent_d = batch.difficulty[idx]
        child_d, ok = self.world.children(parent_d, self.rng)
        factor = np.clip(np.exp(child_d - parent_d), 0.1, 10.0)
        parents = [batch.keys[i] for i in idx[ok]]
        if parents:
            self.sampler.add_children(parents, child_d[ok], factor[ok], step)
            self.result.children += len(parents)

    def run(self) -> RunResult:
        start = time.monotonic()
        while not self.done:
            self.step()
        self.result.seconds += time.monotonic() - start
        return self.result

    # ---- Resume (the trainer's side of a checkpoint).

    def state(self) -> Dict[str, Any]:
        """Everything needed to resume this trainer (plain data, picklable)."""
        state = {"skill": self.world.skill, "rng": self.rng.bit_generator.state,
                 "result": copy.deepcopy(self.result)}
        if isinstance(self.sampler, HeapaSampler):
            state["difficulty_of"] = dict(self.sampler.difficulty_of)
        return state

    def load_state(self, state: Dict[str, Any]) -> None:
        self.world.skill = state["skill"]
        self.rng.bit_generator.state = state["rng"]
        self.result = copy.deepcopy(state["result"])
        if isinstance(self.sampler, HeapaSampler):
            self.sampler.difficulty_of = dict(state["difficulty_of"])
