"""A slime `DataSource` backed by a heapa pool.

slime asks its data source for prompt groups (`get_samples`), hands back unfinished groups
(`add_samples`), and saves/loads it with the model (`save`, `load`). `HeapaDataSource` serves
those from a pool in heapad, and adds what the pool needs from the rollout loop:
`report_groups` (the scored groups of a step) and `add_children` (augmented prompts with their
parents). Checkpoints are pool checkpoints tagged `<prefix><rollout_id>`.

To plug it into slime: `--data-source-path heapa.slime.SlimeArgsDataSource` with the
`heapa_*` attributes set on slime's args (see `SlimeArgsDataSource`), and call
`report_groups` from the rollout function once rewards are in.
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterable, List, Optional, Sequence

from heapa.client import Client
from heapa.types import Child, InsertResult, ReportItem, ReportOutcome, coerce

ID_KEY, LEASE_KEY = "heapa_id", "heapa_lease"


def _default_sample_cls() -> type:
    from slime.utils.types import Sample  # only when slime is installed
    return Sample


class HeapaDataSource:
    """slime's DataSource interface over pool `pool` of a connected `Client`.

    Args:
      client: a connected heapa Client (the data source does not close it).
      pool: the pool's name; it must exist.
      n_samples_per_prompt: the group size (slime's --n-samples-per-prompt).
      sample_cls: slime's Sample type (default: slime.utils.types.Sample).
      lease_ms: how long a sampled prompt stays leased (0: the pool's default).
      state_dir: where save() keeps the sample counters (None: not kept).
      checkpoint_prefix: pool checkpoints are named prefix + rollout_id.
      reward_key: the key of a dict reward (slime's --reward-key).
    """

    def __init__(self, client: Client, pool: str, n_samples_per_prompt: int, *,
                 sample_cls: Optional[type] = None, lease_ms: int = 0,
                 state_dir: Optional[str] = None, checkpoint_prefix: str = "rollout-",
                 reward_key: str = "score"):
        self.client, self.pool, self.n = client, pool, int(n_samples_per_prompt)
        self.sample_cls = sample_cls or _default_sample_cls()
        self.lease_ms, self.state_dir = lease_ms, state_dir
        self.prefix, self.reward_key = checkpoint_prefix, reward_key
        self.sample_index = 0
        self.sample_group_index = 0
        self.buffer: List[List[Any]] = []  # unfinished groups handed back by add_samples

    # ---- slime's DataSource.

    def get_samples(self, num_samples: int) -> List[List[Any]]:
        """`num_samples` groups of n Samples: handed-back groups first, then leased prompts.

        Fewer groups when the pool has fewer prompts to lease. Each Sample's metadata carries
        the query's meta plus `heapa_id` and `heapa_lease` (needed by report_groups).
        """
        groups = self.buffer[:num_samples]
        del self.buffer[:num_samples]
        need = num_samples - len(groups)
        if need > 0:
            for item in self.client.sample(self.pool, need, lease_ms=self.lease_ms):
                groups.append(self._group(item))
        return groups

    def add_samples(self, samples: List[List[Any]]) -> None:
        """Takes back unfinished groups (e.g. aborted partial rollouts): they keep their lease
        and are served first by the next get_samples."""
        for group in samples or []:
            if len(group) != self.n:
                raise ValueError(f"a group has {len(group)} samples, expected {self.n}")
            if not all(ID_KEY in (s.metadata or {}) for s in group):
                raise ValueError("add_samples takes groups that came from get_samples")
            self.buffer.append(group)

    def save(self, rollout_id: int) -> None:
        """Checkpoints the pool as `<prefix><rollout_id>` (and the counters to state_dir)."""
        self.client.checkpoint(self.pool, f"{self.prefix}{rollout_id}")
        if self.state_dir:
            os.makedirs(self.state_dir, exist_ok=True)
            with open(self._state_path(rollout_id), "w") as f:
                json.dump({"sample_index": self.sample_index,
                           "sample_group_index": self.sample_group_index}, f)

    def load(self, rollout_id: Optional[int] = None) -> bool:
        """Restores the pool to the checkpoint of `rollout_id` (None: the newest one of this
        prefix). Returns False when there is none (a fresh start). Leases granted after the
        checkpoint are dropped with the handed-back buffer."""
        tags = [c for c in self.client.list_checkpoints(self.pool) if c.tag.startswith(self.prefix)]
        if rollout_id is None:
            numbered = [c for c in tags if c.tag[len(self.prefix):].isdigit()]
            if not numbered:
                return False
            rollout_id = max(int(c.tag[len(self.prefix):]) for c in numbered)
        elif not any(c.tag == f"{self.prefix}{rollout_id}" for c in tags):
            return False
        self.client.restore(self.pool, f"{self.prefix}{rollout_id}")
        self.buffer.clear()
        if self.state_dir and os.path.exists(self._state_path(rollout_id)):
            with open(self._state_path(rollout_id)) as f:
                state = json.load(f)
            self.sample_index = state["sample_index"]
            self.sample_group_index = state["sample_group_index"]
        return True

    def __len__(self) -> int:
        """Prompts the pool can lease now (COLD + LOW + HIGH)."""
        return self.client.stats(self.pool).pooled

    # ---- What the pool needs from the rollout loop.

    def report_groups(self, groups: Iterable[Sequence[Any]], step: int = 0) -> List[ReportOutcome]:
        """Reports the rewards of scored groups, one ReportItem per group, in one request.

        A Sample's reward may be a number or a dict (read at `reward_key`); samples without a
        reward are left out, and a group with none is not reported (its lease will expire).
        """
        items = []
        for group in groups:
            rewards = [r for r in (self._reward(s) for s in group) if r is not None]
            if rewards:
                meta = group[0].metadata
                items.append(ReportItem(int(meta[ID_KEY]), int(meta[LEASE_KEY]), rewards, step))
        return self.client.report(self.pool, items) if items else []

    def add_children(self, children: Iterable[Any]) -> List[InsertResult]:
        """Inserts augmented children (Child or dict); `parents` may hold query ids, Samples
        or groups of Samples from get_samples."""
        out = []
        for c in children:
            child = coerce(Child, c)
            child.parents = [self._query_id(p) for p in child.parents]
            out.append(child)
        return self.client.insert_children(self.pool, out)

    def validate(self, query_id: int, accept: bool, answer: Optional[str] = None,
                 teacher_difficulty: Optional[float] = None) -> None:
        """The teacher's verdict on a PENDING child."""
        self.client.validate(self.pool, query_id, accept, answer, teacher_difficulty)

    # ---- Helpers.

    def _group(self, item: Any) -> List[Any]:
        q = item.query
        group = []
        for _ in range(self.n):
            metadata = dict(q.meta)
            metadata.update({ID_KEY: item.id, LEASE_KEY: item.lease})
            s = self.sample_cls(prompt=q.prompt, label=q.answer, metadata=metadata)
            s.index, s.group_index = self.sample_index, self.sample_group_index
            self.sample_index += 1
            group.append(s)
        self.sample_group_index += 1
        return group

    def _reward(self, sample: Any) -> Optional[float]:
        r = sample.reward
        if isinstance(r, dict):
            r = r.get(self.reward_key)
        return None if r is None else float(r)

    @staticmethod
    def _query_id(parent: Any) -> int:
        if isinstance(parent, int):
            return parent
        if isinstance(parent, (list, tuple)):
            parent = parent[0]
        return int(parent.metadata[ID_KEY])

    def _state_path(self, rollout_id: int) -> str:
        return os.path.join(self.state_dir, f"heapa_data_source_{rollout_id}.json")


class SlimeArgsDataSource(HeapaDataSource):
    """The constructor slime calls (`data_source_cls(args)`), reading `args.heapa_host`,
    `args.heapa_port`, `args.heapa_pool`, `args.heapa_auth_token` (optional),
    `args.n_samples_per_prompt` and `args.save` (counters under <save>/rollout)."""

    def __init__(self, args: Any):
        client = Client(getattr(args, "heapa_host", "127.0.0.1"), args.heapa_port,
                        auth_token=getattr(args, "heapa_auth_token", ""))
        save = getattr(args, "save", None)
        super().__init__(client, args.heapa_pool, args.n_samples_per_prompt,
                         state_dir=os.path.join(save, "rollout") if save else None)
