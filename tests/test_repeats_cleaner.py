"""dedup.repeats.cleaner: a hand-made plan applied to the text, line endings and blank lines kept as they were."""

from __future__ import annotations

import pytest

from dedup.repeats.cleaner import clean
from dedup.repeats.plan import find_repeats
from dedup.repeats.records import ArticleRepeats
from dedup.repeats.segment import paragraph_spans


def _plan(text: str, drop=(), fragments=(), moved=()) -> ArticleRepeats:
    """A plan for ``text``: paragraphs to drop, for run-on lines the pieces kept (as substrings of the line),
    and pieces moved after a paragraph (as ``(paragraph, [(run-on paragraph, substring), ...])``)."""
    spans = paragraph_spans(text)
    located = []
    for k, pieces in fragments:
        s, e = spans[k]
        out = []
        for piece in pieces:
            at = text.index(piece, s, e)
            out.append((at, at + len(piece)))
        located.append((k, tuple(out)))
    placed = []
    for k, pieces in moved:
        out = []
        for j, piece in pieces:
            at = text.index(piece, *spans[j])
            out.append((at, at + len(piece)))
        placed.append((k, tuple(out)))
    return ArticleRepeats(
        repeats=(), n_paragraphs=len(spans), n_repeats=0, n_boilerplate=0, redundant_chars=0, redundant_share=0.0,
        paragraphs=tuple(spans), drop=tuple(drop), fragments=tuple(located), text_length=len(text), moved=tuple(placed),
    )


CLEAN_TABLE = [
    # text, paragraphs dropped, run-on pieces kept, cleaned
    pytest.param("a\nb\nc", (), (), "a\nb\nc", id="no-plan-unchanged"),
    pytest.param("", (), (), "", id="empty"),
    pytest.param("a\nb\na", (2,), (), "a\nb", id="last-line-no-final-break"),
    pytest.param("a\nb\na\n", (2,), (), "a\nb\n", id="last-line-with-final-break"),
    pytest.param("a\n\nb\n\na\n", (2,), (), "a\n\nb\n", id="trailing-takes-the-blank-lines-before"),
    pytest.param("a\n\nb\n\nc\n", (1,), (), "a\n\nc\n", id="middle-takes-the-blank-lines-after"),
    pytest.param("a\n\n\nb\nc", (0,), (), "b\nc", id="first-takes-all-blank-lines-after"),
    pytest.param("a\r\nb\r\na\r\n", (2,), (), "a\r\nb\r\n", id="crlf-kept"),
    pytest.param("a\r\n\r\nb\r\n\r\na", (2,), (), "a\r\n\r\nb", id="crlf-trailing-no-final-break"),
    pytest.param("  a  \nb\n\ta", (0,), (), "b\n\ta", id="indented-paragraph"),
    pytest.param("a\nb\nc", (0, 1, 2), (), "", id="everything"),
    pytest.param("x y. new bit. z w.\nx y.\nz w.", (), ((0, ["new bit."]),), "new bit.\nx y.\nz w.", id="run-on-one-piece"),
    pytest.param("x y. one. z w. two.\nx y.\nz w.", (), ((0, ["one.", "two."]),), "one.\ntwo.\nx y.\nz w.",
                 id="run-on-pieces-one-per-line"),
    pytest.param("x y. one. z w. two.\r\nx y.", (), ((0, ["one.", "two."]),), "one.\r\ntwo.\r\nx y.",
                 id="run-on-pieces-take-the-line-ending"),
    pytest.param("q\nx y. one. z w. two.", (), ((1, ["one.", "two."]),), "q\none.\ntwo.",
                 id="run-on-last-line-without-ending-uses-newline"),
    pytest.param("  x y. one.  \nq", (), ((0, ["one."]),), "  one.  \nq", id="run-on-keeps-its-indentation"),
    pytest.param("أ ب. جديد. ج د.\nأ ب.\nج د.\n\nأ ب.", (3,), ((0, ["جديد."]),), "جديد.\nأ ب.\nج د.",
                 id="arabic-run-on-and-a-dropped-copy"),
]


@pytest.mark.parametrize(("text", "drop", "fragments", "expected"), CLEAN_TABLE)
def test_clean_table(text, drop, fragments, expected) -> None:
    assert clean(text, _plan(text, drop, fragments)) == expected


MOVE_TABLE = [
    # text, paragraphs dropped, pieces moved after a paragraph, cleaned
    pytest.param("x y. new. z w.\nx y.\nz w.\nq", (0,), ((2, [(0, "new.")]),), "x y.\nz w.\nnew.\nq",
                 id="after-a-middle-line"),
    pytest.param("x y. z w. new.\n\nx y.\n\nz w.\n\nq\n", (0,), ((2, [(0, "new.")]),), "x y.\n\nz w.\n\nnew.\n\nq\n",
                 id="blank-lines-kept-between-paragraphs"),
    pytest.param("x y. z w. new.\n\nx y.\n\nz w.", (0,), ((2, [(0, "new.")]),), "x y.\n\nz w.\n\nnew.",
                 id="after-the-last-line-without-ending"),
    pytest.param("x y. z w. one. two.\r\nx y.\r\nz w.\r\n", (0,), ((2, [(0, "one."), (0, "two.")]),),
                 "x y.\r\nz w.\r\none.\r\ntwo.\r\n", id="two-pieces-crlf"),
    pytest.param("head. x y. z w. new.\nx y.\nz w.", (), ((2, [(0, "new.")]),), "head. x y. z w. new.\nx y.\nz w.\nnew.",
                 id="moved-piece-without-other-changes"),
]


@pytest.mark.parametrize(("text", "drop", "moved", "expected"), MOVE_TABLE)
def test_clean_moves_pieces_after_their_paragraph(text, drop, moved, expected) -> None:
    assert clean(text, _plan(text, drop, (), moved)) == expected


def test_no_plan_returns_the_text_itself() -> None:
    text = "one\n\ntwo \u2028three\n"
    assert clean(text, _plan(text)) is text


@pytest.mark.parametrize(
    ("planned_for", "given"),
    [
        pytest.param("a\nb\na", "a\nb\nab", id="other-length"),
        pytest.param("a\nb\na", "a\nbb\n", id="same-length-other-paragraphs"),
        pytest.param("ab\nc", "a\nbc", id="same-length-paragraphs-moved"),
    ],
)
def test_a_plan_for_another_text_is_refused(planned_for, given) -> None:
    with pytest.raises(ValueError, match="call find_repeats"):
        clean(given, _plan(planned_for, (0,)))


def test_cleaning_what_find_repeats_planned_is_idempotent() -> None:
    p = "The foreign ministers of both countries met in Beijing on Tuesday to prepare the summit."
    q = "Officials said the agenda would include trade, energy and security cooperation in the region."
    text = f"{p}\r\n\r\n{q}\r\n\r\n{p}\r\n"
    once = clean(text, find_repeats(text))
    assert once == f"{p}\r\n\r\n{q}\r\n"
    assert clean(once, find_repeats(once)) == once
