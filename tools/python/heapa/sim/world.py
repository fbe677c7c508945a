"""The synthetic RLVR world: prompts with a latent difficulty and a policy with a skill.

A rollout of prompt i is correct with probability sigmoid(skill - difficulty_i) and earns
+1, else -1 (DAPO's scorer without the overlong penalty). A group is *informative* when its
rollouts are not all equal: only those carry a GRPO/DAPO gradient. After each optimizer step
the skill grows by `skill_gain / batch` per informative group used, so a step whose whole
batch is informative adds `skill_gain`. Held-out accuracy is the expected accuracy over a
fixed held-out set drawn from the same difficulty distribution.

An augmented child of prompt p has difficulty d_p + N(0, child_sd) and passes the simulated
teacher validation with probability `valid_prob`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import numpy as np


@dataclass
class WorldConfig:
    prompts: int = 20_000
    heldout: int = 2_000
    difficulty_mean: float = 2.0
    difficulty_sd: float = 3.0
    skill0: float = 0.0
    skill_gain: float = 0.03
    child_sd: float = 0.5
    valid_prob: float = 0.7


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class World:
    """The dataset, the held-out set and the policy; all randomness from `seed`."""

    def __init__(self, config: WorldConfig, seed: int):
        self.config = config
        data_rng = np.random.default_rng([seed, 0])
        self.difficulty = data_rng.normal(config.difficulty_mean, config.difficulty_sd,
                                          config.prompts)
        self.heldout = data_rng.normal(config.difficulty_mean, config.difficulty_sd,
                                       config.heldout)
        self.skill = config.skill0

    def heldout_accuracy(self) -> float:
        return float(np.mean(sigmoid(self.skill - self.heldout)))

    def rollouts(self, difficulty: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        """A (len(difficulty), n) array of +1/-1 rewards."""
        p = sigmoid(self.skill - np.asarray(difficulty))[:, None]
        return np.where(rng.random((len(p), n)) < p, 1.0, -1.0)

    def learn(self, informative_groups: int, batch: int) -> None:
        self.skill += self.config.skill_gain * informative_groups / batch

    def children(self, parent_difficulty: np.ndarray,
                 rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
        """Each parent's child difficulty and whether it passed validation."""
        d = parent_difficulty + rng.normal(0.0, self.config.child_sd, len(parent_difficulty))
        ok = rng.random(len(parent_difficulty)) < self.config.valid_prob
        return d, ok
