"""dedup.repeats.plan: which copy goes (a table of relations), the pieces of run-on lines kept, the summary numbers."""

from __future__ import annotations

import pytest

from dedup.config import NormalizeConfig, RepeatsConfig
from dedup.repeats.cleaner import clean
from dedup.repeats.plan import _keepable, _plan, find_repeats, find_repeats_batch
from dedup.repeats.records import Repeat


def _r(i: int, j: int, kind: str) -> Repeat:
    return Repeat(i, j, kind, 1.0, 0, 0, 0, 0)  # type: ignore[arg-type]


PLAN_TABLE = [
    # relations (paragraph, in, kind) -> paragraphs removed, each mapped to the one keeping its text
    pytest.param([], {}, id="nothing"),
    pytest.param([(2, 0, "exact"), (4, 0, "exact")], {2: 0, 4: 0}, id="later-exact-copies-go"),
    pytest.param([(1, 0, "boilerplate"), (2, 0, "boilerplate")], {}, id="boilerplate-is-never-removed"),
    pytest.param([(0, 1, "contained")], {0: 1}, id="the-shorter-goes"),
    pytest.param([(2, 0, "near")], {2: 0}, id="near-later-goes"),
    # contained is planned before near: 0 goes into 1; then 1 -> 0 would lose the text of both
    pytest.param([(1, 0, "near"), (0, 1, "contained")], {0: 1}, id="no-cycle"),
    # exact first: 3 -> 1; then 1 is contained in 2: the chain 3 -> 1 -> 2 keeps the text in 2
    pytest.param([(1, 2, "contained"), (3, 1, "exact")], {3: 1, 1: 2}, id="chain"),
    # 1 keeps the text of its exact copy 3: not dropped as an edited copy of 0
    pytest.param([(3, 1, "exact"), (1, 0, "near")], {3: 1}, id="near-spares-a-keeper-of-exact-copies"),
    pytest.param([(2, 0, "exact"), (2, 1, "contained")], {2: 0}, id="removed-once-exact-first"),
    pytest.param([(2, 1, "near"), (2, 0, "contained")], {2: 0}, id="removed-once-contained-before-near"),
    # a longer cycle through three paragraphs: the last relation would close it
    pytest.param([(0, 1, "contained"), (1, 2, "contained"), (2, 0, "near")], {0: 1, 1: 2}, id="no-long-cycle"),
    # the guard does not rest on the kinds: two relations pointing at each other never both remove
    pytest.param([(0, 1, "contained"), (1, 0, "contained")], {0: 1}, id="no-cycle-whatever-the-kinds"),
    pytest.param([(0, 1, "contained"), (1, 2, "contained"), (2, 0, "contained")], {0: 1, 1: 2}, id="no-long-cycle-of-one-kind"),
]


@pytest.mark.parametrize(("relations", "expected"), PLAN_TABLE)
def test_plan_table(relations, expected) -> None:
    target, fragments = _plan([], [_r(*r) for r in relations], [])
    assert target == expected and fragments == {}
    for start in target:  # every removed text survives at the end of its chain
        seen, k = set(), start
        while k in target:
            assert k not in seen
            seen.add(k)
            k = target[k]
        assert k not in target


KEEPABLE = [
    # text, pieces -> kept spans (stripped; pieces without a token dropped)
    pytest.param("x. -- . y z", [(0, 2), (2, 7), (7, 11)], [(0, 2), (8, 11)], id="punctuation-only-piece-dropped"),
    pytest.param("  كلمة  ", [(0, 8)], [(2, 6)], id="arabic-stripped"),
    pytest.param("abc", [(1, 1)], [], id="empty-piece"),
    pytest.param("، . !", [(0, 5)], [], id="arabic-comma-and-marks"),
]


@pytest.mark.parametrize(("text", "pieces", "expected"), KEEPABLE)
def test_keepable_table(text, pieces, expected) -> None:
    assert list(_keepable(text, pieces, NormalizeConfig())) == expected


A = "The foreign ministers of both countries met in Beijing on Tuesday to prepare the summit."
B = "وقال المتحدث الرسمي باسم وزارة الخارجية إن بكين وموسكو تحافظان على تنسيق وثيق في القضايا الأساسية"
C = "Officials said the agenda would include trade, energy and security cooperation in the region."


@pytest.mark.parametrize(
    ("text", "drop"),
    [
        pytest.param("", (), id="empty"),
        pytest.param(f"{A}\n{B}\n{C}", (), id="no-repeats"),
        pytest.param(f"{A}\n{B}\n{A}\n{A}", (2, 3), id="first-copy-kept"),
        pytest.param(f"{B}\n\n{A}\n{B}", (2,), id="arabic"),
    ],
)
def test_summary_numbers(text, drop) -> None:
    r = find_repeats(text)
    lengths = [e - s for s, e in r.paragraphs]
    assert r.drop == drop and r.fragments == ()
    assert r.redundant_chars == sum(lengths[k] for k in drop)
    assert r.redundant_share == (round(r.redundant_chars / sum(lengths), 6) if lengths else 0.0)
    assert r.text_length == len(text) and r.n_paragraphs == len(lengths)
    assert r.n_repeats == len(drop) and r.n_boilerplate == 0


def test_a_run_on_line_keeps_its_new_fragment() -> None:
    fragment = "A fragment that repeats nothing at all in this text"
    text = f"{A} {C} {fragment}\n{A}\n{C}"
    r = find_repeats(text)
    assert r.drop == (0,) and r.fragments == ()  # the separate paragraphs stay, the run-on line goes
    ((after, kept),) = r.moved  # its new fragment followed C: it goes after C's own line
    assert after == 2 and [text[a:b] for a, b in kept] == [fragment]
    assert r.redundant_chars == len(A) + len(C) + 2  # the glued copies and the spaces between the pieces
    assert clean(text, r) == f"{A}\n{C}\n{fragment}"


def test_a_run_on_line_of_copies_only_is_dropped_whole() -> None:
    text = f"{A} {C}\n{A}\n{C}"
    r = find_repeats(text)
    assert r.drop == (0,) and r.fragments == ()
    assert r.redundant_chars == len(A) + 1 + len(C)


def test_batch_is_one_by_one_in_order() -> None:
    texts = [f"{A}\n{A}", "", f"{B}\n{C}\n{B}", f"{A} {C} x y z\n{A}\n{C}"]
    config = RepeatsConfig(near=0.95)
    assert find_repeats_batch(texts, config) == [find_repeats(t, config) for t in texts]
    assert find_repeats_batch([], config) == []


# --------------------------------------------------------------------------- a paragraph glued more than once
A_EN = "The finance ministry announced on Tuesday a new package of measures to support small businesses hit by the floods."
B_EN = "Officials said the package would be worth about two billion dollars and would be paid out over three years."
C_EN = "Opposition parties criticised the plan, saying it came too late for many owners who had already closed their shops."


def test_a_paragraph_glued_twice_into_one_line_is_kept_once() -> None:
    text = f"{A_EN}\n\n{B_EN} {A_EN} {C_EN} {A_EN}"
    result = find_repeats(text)
    rows = [r.as_record("x") for r in result.repeats]
    assert [(x["paragraph"], x["in"], x["kind"]) for x in rows] == [(0, 1, "contained")] * 2
    assert rows[0] != rows[1]  # the two glued copies, told apart by in_start/in_end
    assert [text[x["in_start"] : x["in_end"]] for x in rows] == [A_EN, A_EN]
    cleaned = clean(text, result)
    assert cleaned == f"{B_EN} {A_EN} {C_EN}"
    assert find_repeats(cleaned).n_repeats == 0


def test_a_paragraph_glued_twice_into_a_run_on_line_is_cut_twice() -> None:
    text = f"{A_EN} {B_EN} {A_EN} {C_EN}\n{A_EN}\n{B_EN}"
    result = find_repeats(text)
    assert len({(r.in_start, r.in_end) for r in result.repeats if r.paragraph == 1}) == 2
    assert clean(text, result) == f"{A_EN}\n{C_EN}\n{B_EN}"  # C followed (the second copy of) A in the run-on line


def test_copies_ending_together_in_a_run_on_line() -> None:
    """A run-on line gluing another run-on line: the tail follows the paragraph kept on its own line."""
    text = f"{A_EN} {B_EN}\n\n{A_EN} {B_EN} {C_EN}\n\n{A_EN}\n\n{B_EN}"
    assert clean(text, find_repeats(text)) == f"{A_EN}\n\n{B_EN}\n\n{C_EN}"
