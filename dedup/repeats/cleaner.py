"""Apply the cleaning plan of :func:`dedup.repeats.find_repeats` to the text it was made for.

The plan (which paragraphs go, which pieces of run-on lines stay) is decided
in :mod:`dedup.repeats.plan`; this module only rewrites the lines, keeping
everything else byte for byte. The cleaning rules are in ``docs/repeats.md``.
"""

from __future__ import annotations

from .records import ArticleRepeats
from .segment import LINE_BREAK_CHARS, paragraph_spans

__all__ = ["clean"]


def clean(text: str, repeats: ArticleRepeats) -> str:
    """``text`` with the redundant copies planned by :func:`~dedup.repeats.find_repeats` removed.

    A removed paragraph takes its line and the blank lines after it (after
    the last kept paragraph, the blank lines before it), so the spacing
    between kept paragraphs stays as it was. A run-on line is replaced by the
    pieces it keeps in place, one per line; a piece planned after another
    paragraph (``repeats.moved``) gets its own line right after that
    paragraph's line, separated as that line is from the next (its line
    ending and the blank lines after it), so the reading order of the
    run-on line is kept. Everything else is kept byte for byte; an article
    without repeats comes back unchanged.

    Args:
        text: the same text that was given to :func:`~dedup.repeats.find_repeats`.
        repeats: its result.

    Returns:
        The cleaned text.

    Raises:
        ValueError: ``repeats`` was computed for a different text.

    >>> from dedup.repeats import find_repeats
    >>> t = "Ministers meet in Beijing today\\n\\nOther news here, all new\\n\\nMinisters meet in Beijing today\\n"
    >>> clean(t, find_repeats(t))
    'Ministers meet in Beijing today\\n\\nOther news here, all new\\n'
    """
    if len(text) != repeats.text_length or paragraph_spans(text) != list(repeats.paragraphs):
        raise ValueError(
            "these repeats were computed for a different text "
            f"({repeats.text_length} characters, {repeats.n_paragraphs} paragraphs; got {len(text)} characters): "
            "call find_repeats(text) on the text you clean"
        )
    if not repeats.drop and not repeats.fragments and not repeats.moved:
        return text
    drop = set(repeats.drop)
    fragments = dict(repeats.fragments)
    moved = dict(repeats.moved)
    lines = text.splitlines(keepends=True)
    starts = []
    offset = 0
    for line in lines:
        starts.append(offset)
        offset += len(line)
    # paragraph number of every line (None for blank lines)
    para_of: list[int | None] = [None] * len(lines)
    k = 0
    for n, line in enumerate(lines):
        if k < len(repeats.paragraphs) and starts[n] <= repeats.paragraphs[k][0] < starts[n] + len(line):
            para_of[n] = k
            k += 1
    last_kept_line = max((n for n, p in enumerate(para_of) if p is not None and p not in drop), default=-1)

    remove = [False] * len(lines)
    for n, p in enumerate(para_of):
        if p is None or p not in drop:
            continue
        remove[n] = True
        if n > last_kept_line:  # trailing: take the blank lines before it
            b = n - 1
            while b >= 0 and para_of[b] is None and not remove[b]:
                remove[b] = True
                b -= 1
        else:
            f = n + 1
            while f < len(lines) and para_of[f] is None:
                remove[f] = True
                f += 1

    out = []
    for n, line in enumerate(lines):
        if remove[n]:
            continue
        p = para_of[n]
        body = line.rstrip(LINE_BREAK_CHARS)
        ending = line[len(body) :]
        if p is not None and p in fragments:
            s, e = repeats.paragraphs[p]
            sep = ending or "\n"
            pieces = sep.join(text[a:b] for a, b in fragments[p])
            line = text[starts[n] : s] + pieces + text[e : starts[n] + len(body)] + ending
        if p is not None and p in moved:
            # The separation before each moved piece: the blank lines after this
            # line, or, after the last line, those before it and their line break.
            f = n + 1
            while f < len(lines) and para_of[f] is None:
                f += 1
            b0 = n
            while b0 > 0 and para_of[b0 - 1] is None:
                b0 -= 1
            gap = "".join(lines[n + 1 : f]) if f > n + 1 or f < len(lines) else "".join(lines[b0:n])
            before = lines[n - 1] if n else ""
            brk = ending or before[len(before.rstrip(LINE_BREAK_CHARS)) :] or "\n"
            for a, b in moved[p]:
                line += ("" if line.endswith(tuple(LINE_BREAK_CHARS)) else brk) + gap + text[a:b] + ending
        out.append(line)
    cleaned = "".join(out)
    if not text.endswith(("\n", "\r")) and cleaned.endswith(("\n", "\r")) and last_kept_line < len(lines) - 1:
        cleaned = cleaned.rstrip("\r\n")
    return cleaned
