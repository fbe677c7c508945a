"""The slime DataSource adapter against a real heapad, with a stand-in for slime's Sample."""

import enum
import os
from dataclasses import dataclass, field
from typing import Any, Optional

import heapad_fixture
from heapad_fixture import DaemonTestCase

import heapa
from heapa import QueryState, ReportOutcome
from heapa.slime import HeapaDataSource


@dataclass
class Sample:
    """The fields of slime.utils.types.Sample that a data source touches."""

    class Status(enum.Enum):
        PENDING = "pending"
        COMPLETED = "completed"
        ABORTED = "aborted"

    group_index: Optional[int] = None
    index: Optional[int] = None
    prompt: Any = ""
    response: str = ""
    label: Optional[str] = None
    reward: Any = None
    status: Status = Status.PENDING
    metadata: dict = field(default_factory=dict)


class SlimeSourceTest(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.client = heapa.Client(port=self.daemon.port)
        self.addCleanup(self.client.close)
        self.client.create_pool("math", rng_seed=3)
        self.client.insert("math", [{"prompt": f"q{i}", "answer": str(i), "meta": {"src": "t"}}
                                    for i in range(6)])
        self.source = HeapaDataSource(self.client, "math", 4, sample_cls=Sample,
                                      state_dir=os.path.join(self.tmp, "state"))

    def test_get_samples_builds_groups(self):
        groups = self.source.get_samples(2)
        self.assertEqual([len(g) for g in groups], [4, 4])
        self.assertEqual([g[0].prompt for g in groups], ["q0", "q1"])
        self.assertEqual(groups[1][3].label, "1")
        self.assertEqual([s.index for g in groups for s in g], list(range(8)))
        self.assertEqual([g[0].group_index for g in groups], [0, 1])
        meta = groups[0][0].metadata
        self.assertEqual(meta["src"], "t")
        self.assertEqual(self.client.get("math", meta["heapa_id"]).state.state,
                         QueryState.IN_FLIGHT)
        self.assertIsNot(groups[0][0].metadata, groups[0][1].metadata)
        self.assertEqual(len(self.source), 4)

    def test_report_groups_and_children(self):
        groups = self.source.get_samples(2)
        for s, r in zip(groups[0], [1.0, -1.0, 1.0, 1.0]):
            s.reward = r
        for s, r in zip(groups[1], [{"score": 1.0}, {"score": 1.0}, None, {"score": 1.0}]):
            s.reward = r
        out = self.source.report_groups(groups, step=7)
        self.assertEqual(out, [ReportOutcome.APPLIED, ReportOutcome.APPLIED])
        first = self.client.get("math", groups[0][0].metadata["heapa_id"])
        self.assertEqual((first.stats.rollouts, first.stats.last_step), (4, 7))
        self.assertAlmostEqual(first.state.reward, 0.5)
        self.assertEqual(self.client.get("math", groups[1][0].metadata["heapa_id"]).stats.rollouts, 3)

        kids = self.source.add_children([
            {"parents": [groups[0]], "prompt": "q0 variant", "answer": "x"},
            heapa.Child(parents=[groups[1][2]], prompt="q1 variant", validated=True)])
        self.assertTrue(all(k.created for k in kids))
        lineage = self.client.lineage("math", groups[0][0].metadata["heapa_id"])
        self.assertEqual(lineage.children, [kids[0].id])
        self.source.validate(kids[0].id, accept=False)
        self.assertEqual(self.client.get("math", kids[0].id).state.state, QueryState.REJECTED)

    def test_add_samples_serves_returned_groups_first(self):
        groups = self.source.get_samples(3)
        self.source.add_samples([groups[2]])
        again = self.source.get_samples(2)
        self.assertIs(again[0], groups[2])
        self.assertEqual(again[1][0].prompt, "q3")
        with self.assertRaises(ValueError):
            self.source.add_samples([groups[0][:2]])

    def test_save_and_load_roll_the_pool_back(self):
        self.assertFalse(self.source.load())  # a fresh start: nothing to load
        self.source.get_samples(1)
        self.source.save(10)
        digest = self.client.digest("math")
        after = self.source.get_samples(2)
        self.source.add_samples([after[0]])
        self.assertTrue(self.source.load())  # the newest: rollout 10
        self.assertEqual(self.client.digest("math"), digest)
        self.assertEqual(self.source.buffer, [])
        self.assertEqual(self.source.sample_index, 4)
        resumed = self.source.get_samples(2)
        self.assertEqual([g[0].prompt for g in resumed], [g[0].prompt for g in after])
        self.assertEqual(resumed[0][0].index, 4)
        self.assertFalse(self.source.load(99))


if __name__ == "__main__":
    heapad_fixture.main()
