"""scripts/eval_stories.py: each event error is put down to the stage that made it."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from dedup.config import StoriesConfig  # noqa: E402

DAY = 86_400.0


def test_each_wrong_pair_is_put_down_to_the_window_the_candidates_the_score_the_merge_or_other_reports() -> None:
    import eval_stories

    fn, fp = eval_stories.ERROR_CAUSES["FN"], eval_stories.ERROR_CAUSES["FP"]
    config = StoriesConfig()
    # 8 articles; the tracker compared (0,1) 0.9, (2,3) 0.5, (4,5) 0.9 (pairs sorted, i < j)
    res = SimpleNamespace(event=np.array([0, 0, 1, 2, 3, 4, 5, 5]), pairs=np.array([[0, 1], [2, 3], [4, 5]]),
                          scores=np.array([0.9, 0.5, 0.9]),
                          dedup=SimpleNamespace(table=SimpleNamespace(times=np.array([0, 1, 2, 3, 4, 5, 6, 10 * DAY]))))
    cases = [  # (i, j, same event by the labels) -> cause
        ((1, 0, False), fp[0]),  # one event, scored over the threshold (the order of a pair does not matter)
        ((6, 7, False), fp[1]),  # one event, never compared: through other reports
        ((2, 3, True), fn[2]),  # compared, under the threshold
        ((4, 5, True), fn[3]),  # over the threshold, yet two events: the merge was refused
        ((0, 7, True), fn[0]),  # ten days apart, never compared
        ((2, 4, True), fn[1]),  # close in time, never compared
        ((3, 4, False), None),  # right
        ((0, 1, True), None),  # right
    ]
    i = np.array([c[0][0] for c in cases])
    j = np.array([c[0][1] for c in cases])
    gold = np.array([c[0][2] for c in cases])
    pred = res.event[i] == res.event[j]
    assert eval_stories._error_causes(res, i, j, pred, gold, config) == [c[1] for c in cases]
    errors = [{"set": s, "cause": c} for s, c in (("dev", fn[0]), ("hard", fn[0]), ("story", fp[1]))]
    assert eval_stories._causes_by_set(errors) == {"dev": {fn[0]: 1}, "dev+hard": {fn[0]: 2}, "hard": {fn[0]: 1}, "story": {fp[1]: 1}}
