"""dedup.stories.window: term weights of the articles so far (against the batch vectors), dense columns, held rows."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse as sp

from dedup.config import StoriesConfig
from dedup.sketch.features import TOKEN_COLUMNS
from dedup.store.background import background_df
from dedup.stories.vectors import (
    _idf,
    candidate_vectors_from_counts,
    char_counts,
    story_vectors,
    word_counts,
)
from dedup.stories.window import Columns, Rows, Weights
from dedup.text.normalize import normalize

DAY1 = [
    ("وزير الخارجية السعودي يلتقي نظيره الأمريكي في الرياض لبحث العلاقات الثنائية", "لقاء وزيري الخارجية"),
    ("وزير الخارجية يبحث مع نظيره الأمريكي في الرياض العلاقات بين البلدين", ""),
    ("أمطار غزيرة على منطقة عسير والدفاع المدني يحذر من السيول", "أمطار عسير"),
]
DAY2 = [
    ("الدفاع المدني يحذر من السيول في منطقة عسير بعد الأمطار الغزيرة", ""),
    ("the central bank kept interest rates unchanged citing stable inflation", "rates unchanged"),
]


def _day(pairs, first: int, config: StoriesConfig) -> SimpleNamespace:
    """The parts of a day block that Weights reads (as dedup.stories.events builds them)."""
    texts = [normalize(t) for t, _ in pairs]
    titles = [normalize(h) for _, h in pairs]
    has_titles = any(titles)
    chars = config.char_weight > 0
    return SimpleNamespace(
        texts=texts,
        titles=titles,
        arrival=np.arange(first, first + len(texts)),
        body_words=word_counts(texts, config.bigrams),
        title_words=word_counts(titles, config.bigrams) if has_titles else None,
        body_chars=char_counts(texts, config.char_k) if chars else None,
        title_chars=char_counts(titles, config.char_k) if chars and has_titles else None,
    )


CONFIGS = [
    pytest.param(StoriesConfig(), id="defaults-with-prior-and-characters"),
    pytest.param(StoriesConfig(idf_prior_documents=0.0), id="no-prior"),
    pytest.param(StoriesConfig(char_weight=0.0), id="words-only"),
    pytest.param(StoriesConfig(char_weight=0.0, idf_prior_documents=0.0, idf_power=1.0, title_weight=0.0), id="plain-tfidf"),
]


@pytest.mark.parametrize("config", CONFIGS)
def test_a_later_day_is_weighed_with_every_article_so_far(config) -> None:
    day1, day2 = _day(DAY1, 0, config), _day(DAY2, len(DAY1), config)
    weights = Weights(config)
    weights.count(day1)
    first = weights.story_vectors(day1)  # before day 2 is counted: day 2 changes nothing of day 1
    weights.count(day2)
    second = weights.story_vectors(day2)
    assert weights.seen == len(DAY1) + len(DAY2)
    alone = story_vectors(day1.texts, day1.titles, config)  # the batch vectors of the first day alone
    assert first.shape == alone.shape and abs(first - alone).max() < 1e-12
    both = story_vectors(day1.texts + day2.texts, day1.titles + day2.titles, config)
    assert abs(second - both[len(DAY1):]).max() < 1e-12


def test_document_frequencies_count_rows_not_occurrences() -> None:
    config = StoriesConfig(char_weight=0.0, idf_prior_documents=0.0)
    weights = Weights(config)
    counts = sp.csr_matrix(np.array([[3.0, 0.0, 1.0], [1.0, 0.0, 0.0]]))
    weights.count(SimpleNamespace(arrival=np.arange(2), body_words=counts, body_chars=None))
    assert weights.seen == 2
    assert weights.word_df[:3].tolist() == [2.0, 0.0, 1.0]
    assert weights.word_seen[:3].tolist() == [2.0, 0.0, 1.0]
    assert weights.word_df.sum() == 3.0 and weights.char_df is None
    idf = weights._idf(weights.word_df)(np.array([0, 1, 2]))
    # (ln((1 + n) / (1 + df)) + 1) ** power, n = 2
    np.testing.assert_allclose(idf, [(np.log(3 / 3) + 1) ** 2, (np.log(3 / 1) + 1) ** 2, (np.log(3 / 2) + 1) ** 2])


@pytest.mark.parametrize("kind", ["word", "char"])
def test_prior_documents_enter_as_vectors_idf_does(kind) -> None:
    config = StoriesConfig()
    day = _day(DAY1, 0, config)
    weights = Weights(config)
    weights.count(day)
    body = day.body_words if kind == "word" else day.body_chars
    df = weights.word_df if kind == "word" else weights.char_df
    cols = np.unique(body.indices)
    expected = _idf(body, config.idf_power, config.idf_prior_documents, background_df(kind, config.char_k, config.normalize))
    np.testing.assert_allclose(weights._idf(df)(cols), expected[cols], rtol=1e-12)
    assert weights.word_seen.sum() == weights.word_seen[np.unique(day.body_words.indices)].sum()  # no prior in it


def test_word_vectors_are_the_batch_candidate_vectors() -> None:
    config = StoriesConfig(candidate_max_df=2, candidate_max_df_fraction=0.0)
    day = _day(DAY1 + DAY2, 0, config)
    weights = Weights(config)
    weights.count(day)
    got = weights.word_vectors(day)
    expected = candidate_vectors_from_counts(day.body_words, 2)  # words in more than two articles dropped
    gram = (got @ got.T).toarray()
    np.testing.assert_allclose(gram, (expected @ expected.T).toarray(), atol=1e-12)
    assert gram[0, 1] > 0.1  # shared words held by two articles stay
    assert weights.word_seen.max() > 2 and np.all(weights.word_seen[np.unique(got.indices)] <= 2)


def test_candidate_vectors_are_scikit_learns_tfidf_bit_for_bit() -> None:
    """The batch candidate vectors use :class:`dedup.verify.Idf`, not scikit-learn's transformer (not imported by stories)."""
    from sklearn.feature_extraction.text import TfidfTransformer

    from dedup.stories.sparse import l2_rows

    counts = word_counts([normalize(t) for t, _ in DAY1 + DAY2 + DAY1[:1]], bigrams=False)
    for max_df in (1, 2, 100):
        got = candidate_vectors_from_counts(counts, max_df)
        x = TfidfTransformer(sublinear_tf=True).fit_transform(counts).tocsc()
        df = np.diff(x.indptr)
        want = l2_rows(sp.csr_matrix(x[:, np.flatnonzero((df > 0) & (df <= max_df))]))
        assert got.shape == want.shape and got.nnz > 0
        assert np.array_equal(got.indptr, want.indptr) and np.array_equal(got.indices, want.indices)
        assert np.array_equal(got.data, want.data)


@pytest.mark.parametrize(
    ("max_df", "fraction", "seen", "limit"),
    [(50, 0.01, 1000, 50), (50, 0.01, 10_000, 100), (2, 0.5, 5, 2), (1, 0.5, 7, 3)],
)
def test_word_vectors_drop_words_over_max_df(max_df, fraction, seen, limit) -> None:
    # column k is held by k articles of the feed; the limit is max(max_df, int(fraction * seen))
    config = StoriesConfig(char_weight=0.0, idf_prior_documents=0.0, candidate_max_df=max_df, candidate_max_df_fraction=fraction)
    weights = Weights(config)
    weights.seen = seen
    weights.word_seen[:6] = [0, 1, 2, 3, 50, 100]
    row = sp.csr_matrix(np.array([[0.0, 1.0, 1.0, 1.0, 1.0, 1.0]]))
    got = weights.word_vectors(SimpleNamespace(body_words=row))
    expected_cols = [k for k, df in enumerate([0, 1, 2, 3, 50, 100]) if 0 < k and df <= limit]
    assert got.indices.tolist() == expected_cols
    assert np.sum(got.data**2) == pytest.approx(1.0)


def test_a_row_of_only_frequent_words_is_all_zero() -> None:
    config = StoriesConfig(char_weight=0.0, idf_prior_documents=0.0, candidate_max_df=1, candidate_max_df_fraction=0.0)
    weights = Weights(config)
    counts = sp.csr_matrix(np.array([[1.0, 1.0], [1.0, 0.0]]))
    day = SimpleNamespace(arrival=np.arange(2), body_words=counts, body_chars=None)
    weights.count(day)
    got = weights.word_vectors(day)
    assert got[1].nnz == 0 and got[0].indices.tolist() == [1]


def _random_rows(rng, n: int, width: int, density: float) -> sp.csr_matrix:
    m = sp.random(n, width, density=density, format="csr", random_state=rng)
    m.sum_duplicates()
    return m


def test_columns_keep_dot_products_across_days() -> None:
    rng = np.random.default_rng(3)
    width = 1 << 12
    day1, day2 = _random_rows(rng, 6, width, 0.01), _random_rows(rng, 5, width, 0.01)
    cols = Columns(width)
    a, b = cols.narrow(day1), cols.narrow(day2)
    used = len(np.unique(np.concatenate([day1.indices, day2.indices])))
    assert cols.width == used
    stacked = cols.shaped(sp.vstack([a, b], format="csr"))
    assert stacked.shape == (11, used)
    original = sp.vstack([day1, day2], format="csr")
    np.testing.assert_allclose((stacked @ stacked.T).toarray(), (original @ original.T).toarray())
    assert stacked.has_sorted_indices and all(np.all(np.diff(r.indices) > 0) for r in stacked)


def test_columns_are_numbered_in_the_order_first_seen() -> None:
    cols = Columns(100)
    first = cols.narrow(sp.csr_matrix(([1.0, 2.0], [70, 40], [0, 2]), shape=(1, 100)))
    second = cols.narrow(sp.csr_matrix(([3.0, 4.0, 5.0], [40, 90, 10], [0, 3]), shape=(1, 100)))
    # within one call the new columns are numbered in column order; a later call only adds
    assert cols.ids[[40, 70, 10, 90]].tolist() == [0, 1, 2, 3]
    assert dict(zip(first.indices.tolist(), first.data.tolist())) == {0: 2.0, 1: 1.0}
    assert dict(zip(second.indices.tolist(), second.data.tolist())) == {0: 3.0, 2: 5.0, 3: 4.0}
    assert cols.width == 4


def test_columns_of_an_empty_block() -> None:
    cols = Columns(8)
    out = cols.narrow(sp.csr_matrix((3, 8)))
    assert out.nnz == 0 and cols.width == 0
    assert cols.shaped(out).shape == (3, 1)  # never zero columns wide


def test_narrow_leaves_its_input_alone() -> None:
    m = sp.csr_matrix(([1.0, 2.0], [5, 3], [0, 2]), shape=(1, 8))
    before = (m.data.copy(), m.indices.copy())
    out = Columns(8).narrow(m)
    out.data[:] = 0.0
    assert m.data.tolist() == before[0].tolist() and m.indices.tolist() == before[1].tolist()


def _block(arrival: list[int], with_slots: bool = True):
    a = np.array(arrival, dtype=np.int64)
    n = len(a)
    rows = sp.csr_matrix(np.array(a, dtype=np.float64).reshape(n, 1) if n else np.zeros((0, 1)))
    return (a, a * 10.0, rows, rows, rows, a + 100, rows if with_slots else None)


def test_rows_stack_in_order_and_let_old_rows_go() -> None:
    rows = Rows()
    assert rows.stacked() is None
    rows.add(*_block([0, 1, 2]))
    rows.add(*_block([3, 4]))
    rows.add(*_block([5, 6, 7]))
    a, t, x, w, nu, ln, sl = rows.stacked()
    assert a.tolist() == list(range(8)) and t.tolist() == [10.0 * k for k in range(8)]
    assert x.toarray().ravel().tolist() == list(range(8)) and ln.tolist() == [100 + k for k in range(8)]
    assert len(rows.blocks) == 1  # stacked once, kept stacked
    rows.add(*_block([8, 9]))
    rows.drop_before(4)  # the head of the first block goes
    a, t, x, w, nu, ln, sl = rows.stacked()
    assert a.tolist() == [4, 5, 6, 7, 8, 9]
    for m in (x, w, nu, sl):
        assert m.toarray().ravel().tolist() == [4, 5, 6, 7, 8, 9]
    assert ln.tolist() == [104, 105, 106, 107, 108, 109]


@pytest.mark.parametrize(
    ("first_kept", "expected"),
    [(0, list(range(6))), (2, [2, 3, 4, 5]), (3, [3, 4, 5]), (5, [5]), (6, []), (99, [])],
)
def test_drop_before_table(first_kept, expected) -> None:
    rows = Rows()
    rows.add(*_block([0, 1, 2]))
    rows.add(*_block([3, 4, 5]))
    rows.drop_before(first_kept)
    held = rows.stacked()
    assert (held is None and expected == []) or held[0].tolist() == expected
    if held is not None:
        assert held[2].shape[0] == len(expected) and held[5].tolist() == [100 + k for k in expected]


def test_empty_blocks_are_let_go_and_slots_need_every_block() -> None:
    rows = Rows()
    rows.add(*_block([]))
    rows.add(*_block([0, 1]))
    rows.add(*_block([2], with_slots=False))
    rows.drop_before(0)
    assert len(rows.blocks) == 2
    a, *_, sl = rows.stacked()
    assert a.tolist() == [0, 1, 2] and sl is None
    rows.drop_before(2)
    a, *_, sl = rows.stacked()
    assert a.tolist() == [2] and sl is None


def test_width_of_the_token_columns() -> None:
    weights = Weights(StoriesConfig(char_weight=0.0))
    assert len(weights.word_df) == TOKEN_COLUMNS and weights.char_df is None


def test_held_rows_survive_growth_and_moves_to_the_front() -> None:
    """Random days appended and old rows let go: the buffer's rows are always the rows a fresh stack would hold."""
    from dedup.stories.window import _CsrRows

    rng = np.random.default_rng(7)
    buf, held, v = _CsrRows(), [], None
    grew = {"in place": 0, "copied": 0}
    _CsrRows._MOVE, move = 5, _CsrRows._MOVE  # tiny moves: every overlap case of the move to the front
    try:
        for _ in range(120):
            rows = int(rng.integers(0, 9))
            dense = (rng.random((rows, 12)) < 0.4) * rng.random((rows, 12))
            m = sp.csr_matrix(dense)
            before, size = id(buf.data), len(buf.data)
            buf.append(m)
            if len(buf.data) > size:  # a live view (kept from the last round half the time) forbids growing in place
                grew["in place" if id(buf.data) == before else "copied"] += 1
            held.extend(dense)
            gone = int(rng.integers(0, len(held) + 1)) if rng.random() < 0.5 else 0
            buf.drop(gone)
            held = held[gone:]
            v = buf.view()
            assert v.shape == (len(held), 12) and v.has_canonical_format
            assert np.array_equal(v.toarray(), np.array(held).reshape(-1, 12))
            if rng.random() < 0.5:
                v = None
        assert grew["in place"] > 0 and grew["copied"] > 0, grew
        assert len(buf.data) < 4 * max(buf.ptr[buf.tail], 1) + 200  # moved to the front, not grown without end
    finally:
        _CsrRows._MOVE = move


def test_views_of_a_mostly_emptied_buffer_share_it() -> None:
    """Once most held rows are let go, the window's views (and their narrowed width) still read the buffer, not a copy of it."""
    from dedup.stories.window import Columns, _CsrRows

    rng = np.random.default_rng(3)
    dense = (rng.random((400, 30)) < 0.3) * rng.random((400, 30))
    cols = Columns(30)
    m = cols.narrow(sp.csr_matrix(dense))
    buf = _CsrRows()
    buf.append(m)
    buf.drop(390)  # a tenth of a buffer's rows: SciPy's constructor would copy them (its prune)
    v = buf.view()
    w = cols.shaped(v)
    for got in (v, w):
        assert np.shares_memory(got.data, buf.data) and np.shares_memory(got.indices, buf.indices)
        assert got.has_canonical_format and got.indptr.dtype == got.indices.dtype == np.int32
    assert np.array_equal(w.toarray(), m[390:, : w.shape[1]].toarray()) and w.shape[1] == cols.width


# --- a day's story vectors a block at a time, columns numbered first, closed centroids, buffers handed over -------

DAY3 = [  # a third, longer day: rows with and without headlines, a short one, and one sharing words with day 1
    ("وزير الخارجية الأمريكي يصل إلى الرياض في زيارة رسمية يلتقي خلالها ولي العهد", "زيارة وزير الخارجية"),
    ("the national team won the cup final after extra time in front of a full stadium", ""),
    ("ارتفاع", "عاجل"),
    ("the central bank raised interest rates for the first time this year to curb inflation", "rates raised"),
    ("أمطار على الرياض", ""),
]


def _same_csr(got: sp.csr_matrix, expected: sp.csr_matrix) -> None:
    """The same matrix entry for entry, in the same stored order: indptr, indices, and the data's bytes."""
    assert got.shape == expected.shape
    assert np.array_equal(got.indptr, expected.indptr)
    assert np.array_equal(got.indices, expected.indices)
    assert got.data.dtype == expected.data.dtype and got.data.dtype in (np.float32, np.float64)  # the window holds story rows as float32
    assert got.data.tobytes() == expected.data.tobytes()


@pytest.mark.parametrize("config", CONFIGS)
def test_story_blocks_stack_to_the_days_story_vectors_bit_for_bit(config) -> None:
    day1, day2 = _day(DAY1, 0, config), _day(DAY2 + DAY3, len(DAY1), config)
    weights = Weights(config)
    for day in (day1, day2):
        weights.count(day)
        whole = weights.story_vectors(day)
        n = whole.shape[0]
        assert whole.nnz > 0 and (day.body_chars is not None) == (config.char_weight > 0)
        for rows in (1, 2, 3, n, n + 5):
            blocks = list(weights.story_blocks(day, rows))
            assert [b.shape[0] for b in blocks] == [min(rows, n - lo) for lo in range(0, n, rows)]
            _same_csr(sp.vstack(blocks, format="csr"), whole)
            with ThreadPoolExecutor(2) as pool:  # made on threads, a few ahead: the same blocks, in order
                for ahead in (0, 1, 3):
                    threaded = list(weights.story_blocks(day, rows, pool=pool, ahead=ahead))
                    assert len(threaded) == len(blocks)
                    for got, expected in zip(threaded, blocks):
                        _same_csr(got, expected)


@pytest.mark.parametrize("config", CONFIGS)
def test_word_blocks_stack_to_the_days_word_vectors_bit_for_bit(config) -> None:
    weights = Weights(config)
    for day in (_day(DAY1, 0, config), _day(DAY2 + DAY3, len(DAY1), config)):
        weights.count(day)
        whole = weights.word_vectors(day)
        n = whole.shape[0]
        for rows in (1, 2, 3, n, n + 5):
            blocks = list(weights.word_blocks(day, rows))
            assert [b.shape[0] for b in blocks] == [min(rows, n - lo) for lo in range(0, n, rows)]
            _same_csr(sp.vstack(blocks, format="csr"), whole)


@pytest.mark.parametrize("rows", [1, 2, 1000])
def test_a_parked_days_characters_read_from_disk_weigh_the_same(tmp_path, monkeypatch, rows: int) -> None:
    """A worker's day parked with its character counts on disk (DiskRows): the same counts, columns and story blocks."""
    import dedup.stories.vectors as vectors
    from dedup.store.days import DiskRows, park, unpark

    monkeypatch.setattr(vectors, "_BLOCK_ROWS", rows)
    config = StoriesConfig()
    in_memory, on_disk = Weights(config), Weights(config)
    for first, pairs in ((0, DAY1), (len(DAY1), DAY2 + DAY3)):
        day = _day(pairs, first, config)
        parked = SimpleNamespace(**vars(day))
        parked.body_chars = char_counts(day.texts, config.char_k, spill=str(tmp_path))
        parked = unpark(park(parked, str(tmp_path)))
        assert isinstance(parked.body_chars, DiskRows)
        a, b = in_memory.count(day), on_disk.count(parked)
        assert all(np.array_equal(x, y) for x, y in zip(a, b))
        assert np.array_equal(in_memory.char_df, on_disk.char_df) and np.array_equal(in_memory.word_df, on_disk.word_df)
        for counted in (None, a):  # the columns from the counts, or read from the rows themselves
            got, expected = on_disk.story_columns(parked, counted), in_memory.story_columns(day, counted)
            assert len(got) == len(expected) == 4
            assert all(np.array_equal(np.unique(x), np.unique(y)) and i == j for (x, i), (y, j) in zip(got, expected))
        for got, expected in zip(on_disk.story_blocks(parked, 2), in_memory.story_blocks(day, 2), strict=True):
            _same_csr(got, expected)
        del parked
    assert os.listdir(tmp_path) == []


def test_story_blocks_read_in_part_leave_nothing_running() -> None:
    """A reader that stops after the first block: the blocks queued ahead are cancelled, not made.

    The one worker is held inside the second block until the reader has
    closed, so which blocks had started is fixed, not left to timing.
    """
    config = StoriesConfig()
    day = _day(DAY1 + DAY2, 0, config)
    weights = Weights(config)
    weights.count(day)
    made: list[int] = []
    second_started, closed = threading.Event(), threading.Event()

    def then(block):
        made.append(block.shape[0])
        if len(made) == 2:
            second_started.set()
            assert closed.wait(10)
        return block

    with ThreadPoolExecutor(1) as pool:
        try:
            it = weights.story_blocks(day, 1, then=then, pool=pool, ahead=2)
            assert next(it).shape[0] == 1
            assert second_started.wait(10)
            it.close()  # the generator's finally: the blocks not started are cancelled
        finally:
            closed.set()  # (a failure above does not leave the worker waiting)
    assert day.body_words.shape[0] >= 5 and made == [1, 1]  # the first, and the one running when it closed


@pytest.mark.parametrize("config", CONFIGS)
def test_columns_numbered_first_then_renumbered_block_by_block_equal_narrow(config) -> None:
    """Over two days (the second meeting columns the first numbered): the same numbering and the same matrices."""
    numbered, narrowed = Columns(2 * TOKEN_COLUMNS), Columns(2 * TOKEN_COLUMNS)
    weights = Weights(config)
    for day in (_day(DAY1, 0, config), _day(DAY2 + DAY3, len(DAY1), config)):
        counted = weights.count(day)  # the bodies' distinct columns: numbered as all their entries would be
        assert np.array_equal(counted[0], np.unique(day.body_words.indices))
        assert (counted[1] is None) == (day.body_chars is None)
        before = numbered.width
        numbered.number(*weights.story_columns(day, counted))
        got = [numbered.renumber(b) for b in weights.story_blocks(day, 2)]
        expected = narrowed.narrow(weights.story_vectors(day))
        assert numbered.width == narrowed.width > before
        assert np.array_equal(numbered.ids, narrowed.ids)
        assert np.array_equal(numbered._back[: numbered.width], narrowed._back[: narrowed.width])
        _same_csr(sp.vstack(got, format="csr"), expected)
        assert all(b.has_sorted_indices for b in got)
    assert weights.story_columns(day)[0][1] == 0
    if config.char_weight > 0:  # the character columns lie past the words' (the second day re-met both kinds)
        assert numbered.ids[TOKEN_COLUMNS:].max() >= 0 and numbered.ids[:TOKEN_COLUMNS].max() >= 0


def test_number_takes_each_new_column_once_in_hashed_order_across_parts() -> None:
    """Repeats within and across parts, known columns skipped, the offset part's columns shifted; nothing left marked."""
    cols = Columns(32)
    cols.number((np.array([7, 3, 7, 3], dtype=np.int32), 0))
    assert cols.ids[[3, 7]].tolist() == [0, 1] and cols.width == 2
    cols.number((np.array([9, 3, 1, 9], dtype=np.int32), 0), (np.array([1, 3], dtype=np.int32), 16), (np.array([1], dtype=np.int32), 8))
    # new: 1, 9 (words), 9 (offset 8: 1 + 8, the same hashed column), 17, 19 (offset 16): in hashed order 1, 9, 17, 19
    assert cols.ids[[1, 9, 17, 19]].tolist() == [2, 3, 4, 5] and cols.width == 6
    assert cols._back[:6].tolist() == [3, 7, 1, 9, 17, 19]
    assert cols._fresh is not None and not cols._fresh.any()
    cols.number((np.zeros(0, dtype=np.int32), 0))
    assert cols.width == 6


def test_renumber_refuses_a_column_not_numbered() -> None:
    cols = Columns(16)
    cols.number((np.array([3, 5]), 0), (np.array([1]), 8))  # hashed 3, 5 and 9
    assert cols.ids[[3, 5, 9]].tolist() == [0, 1, 2] and cols.width == 3
    ok = cols.renumber(sp.csr_matrix(([1.0, 2.0], [9, 3], [0, 2]), shape=(1, 16)))
    assert ok.indices.tolist() == [0, 2] and ok.data.tolist() == [2.0, 1.0]
    with pytest.raises(ValueError, match="not numbered"):
        cols.renumber(sp.csr_matrix(([1.0, 2.0], [3, 4], [0, 2]), shape=(1, 16)))
    assert cols.renumber(sp.csr_matrix((2, 16))).nnz == 0  # no entry: nothing to refuse


def _centroid(rng, width: int, nnz: int) -> tuple[np.ndarray, np.ndarray]:
    cols = np.sort(rng.choice(width, nnz, replace=False)).astype(np.int64)
    return cols, rng.random(nnz) + 0.1


@pytest.mark.parametrize("rows", [1, 2, 1 << 16])
def test_closed_centroids_come_back_in_label_order_normalized(monkeypatch, rows: int) -> None:
    """Read back and normalized a block of rows at a time (``rows``): the bits of normalizing them all at once."""
    from dedup.stories.sparse import l2_rows
    from dedup.stories.closed import Closed

    monkeypatch.setattr(Closed, "_READ_ROWS", rows)

    rng = np.random.default_rng(11)
    width = 64
    calls = [[5, 9], [2], [7, 3]]  # out of order across calls and within one
    closed = Closed(width)
    events: dict[int, tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]] = {}
    for labels in calls:
        story = [_centroid(rng, width, int(rng.integers(1, 9))) for _ in labels]
        word = [_centroid(rng, width, int(rng.integers(1, 9))) for _ in labels]
        if labels == [2]:
            story = [(np.zeros(0, np.int64), np.zeros(0))]  # an empty centroid keeps its (empty) row
        events.update({label: (s, w) for label, s, w in zip(labels, story, word)})
        closed.add(labels, story, word)
    closed.add([], [], [])  # a closing step that closed nothing
    assert len(closed) == 5

    labels, story, word = closed.take()
    assert labels.tolist() == [2, 3, 5, 7, 9]
    for kind, got in ((0, story), (1, word)):
        vecs = [events[label][kind] for label in sorted(events)]
        indptr = np.concatenate([[0], np.cumsum([len(c) for c, _ in vecs])])
        direct = sp.csr_matrix((np.concatenate([v for _, v in vecs]), np.concatenate([c for c, _ in vecs]), indptr),
                               shape=(len(vecs), width))
        expected = l2_rows(direct)
        if kind == 0:  # story centroids are held as float32, normalized first in float64
            expected.data = expected.data.astype(np.float32)
        _same_csr(got, expected)
    assert story.dtype == np.float32 and word.dtype == np.float64
    assert story[0].nnz == 0 and np.allclose(sp.linalg.norm(story[1:], axis=1), 1.0)
    assert len(closed) == 0 and closed.labels == [] and closed.files == {}  # the spill files are closed


def test_closed_in_order_and_empty() -> None:
    from dedup.stories.closed import Closed

    labels, story, word = Closed(8).take()
    assert labels.tolist() == [] and labels.dtype == np.int64 and story.shape == word.shape == (0, 8)
    closed = Closed(8)
    closed.add([1, 4], [(np.array([0, 7]), np.array([3.0, 4.0])), (np.array([2]), np.array([5.0]))],
               [(np.array([1]), np.array([2.0])), (np.array([3, 6]), np.array([1.0, 1.0]))])
    labels, story, word = closed.take()
    assert labels.tolist() == [1, 4]
    assert np.allclose(story.toarray(), [[0.6, 0, 0, 0, 0, 0, 0, 0.8], [0, 0, 1.0, 0, 0, 0, 0, 0]])
    assert np.allclose(word.toarray(), [[0, 1, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0.5**0.5, 0, 0, 0.5**0.5, 0]])


def _x_block(rng: np.random.Generator, arrivals: list[int], width: int = 6):
    """One block of held rows: arrivals, times, x, w, numbers, lengths (random sparse rows, sorted columns)."""
    n = len(arrivals)

    def rows() -> sp.csr_matrix:
        m = sp.random(n, width, density=0.5, format="csr", random_state=rng) if n else sp.csr_matrix((0, width))
        m.sort_indices()
        return m

    return (np.array(arrivals, dtype=np.int64), np.arange(n, dtype=np.float64), rows(), rows(), rows(),
            np.ones(n, dtype=np.int64))


def test_rows_take_story_rows_as_blocks_as_one_matrix() -> None:
    rng = np.random.default_rng(2)
    whole, parts = Rows(), Rows()
    days = [_x_block(rng, list(range(0, 8))), _x_block(rng, list(range(8, 12))), _x_block(rng, list(range(12, 19)))]
    for k, (a, t, x, w, nu, ln) in enumerate(days):
        whole.add(a, t, x, w, nu, ln)
        cuts = [0, 1, 1, 3, len(a)] if k != 1 else [0, len(a)]  # an empty block among them
        blocks = (x[lo:hi] for lo, hi in zip(cuts, cuts[1:]))  # a generator, as the tracker passes
        head = parts.x.head
        parts.add(a, t, blocks, w, nu, ln)
        if k == 1:  # the first day's rows let go below: this day's rows moved the held ones to the front
            assert head > 0 and parts.x.head == 0
        for r in (whole, parts):
            r.drop_before(6 if k == 0 else 0)
        got, expected = parts.stacked(), whole.stacked()
        assert got[0].tolist() == expected[0].tolist()
        for i in (2, 3, 4):
            _same_csr(got[i], expected[i])


@pytest.mark.parametrize("rows", [2, 4])
def test_rows_refuse_story_rows_not_one_per_arrival(rows) -> None:
    rng = np.random.default_rng(4)
    a, t, x, w, nu, ln = _x_block(rng, [0, 1, 2])
    held = Rows()
    held.add(*_x_block(rng, [])[:6])
    with pytest.raises(ValueError, match=f"3 arrivals but {rows} story rows"):
        held.add(a, t, [x[:1], sp.csr_matrix(np.ones((rows - 1, 6)))], w, nu, ln)
    one = x[:2] if rows == 2 else sp.vstack([x, x[:1]], format="csr")
    with pytest.raises(ValueError, match=f"3 arrivals but {rows} story rows"):
        Rows().add(a, t, one, w, nu, ln)


def test_story_rows_are_held_as_float32_and_scored_in_float64() -> None:
    """The window's story rows are rounded once to float32; dot products of them are the float64 products of those values."""
    from dedup.stories.sparse import pair_dots

    rng = np.random.default_rng(4)
    a, t, x, w, nu, ln = _x_block(rng, list(range(30)))
    rows = Rows()
    rows.add(a, t, x, w, nu, ln)
    held = rows.stacked()[2]
    assert held.data.dtype == np.float32 and rows.stacked()[3].data.dtype == np.float64  # word rows stay float64
    wide = sp.csr_matrix((held.data.astype(np.float64), held.indices, held.indptr), shape=held.shape)
    assert np.array_equal(wide.toarray(), x.toarray().astype(np.float32).astype(np.float64))
    i, j = rng.integers(0, 30, 50), rng.integers(0, 30, 50)
    assert np.array_equal(pair_dots(held, i, held, j), pair_dots(wide, i, wide, j))


def test_found_pairs_wait_on_disk_and_come_back_as_appended(tmp_path, monkeypatch) -> None:
    """The tracker's candidate pairs (~0.35 GB on a million articles of large copy families) were held in memory
    through the whole events stage: they go to a file in the run's folder and come back whole, bits and order kept."""
    from dedup.stories.closed import FoundPairs

    monkeypatch.setattr(FoundPairs, "_READ", 3)  # read back in blocks smaller than what was appended
    rng = np.random.default_rng(0)
    found = FoundPairs(str(tmp_path))
    parts = [(rng.integers(0, 10**9, size=(k, 2)), rng.random(k)) for k in (5, 0, 1, 7)]
    parts[0][1][2] = np.nextafter(0.5, 1.0)  # the last bit of a score survives
    for p, s in parts:
        found.append(p[:, ::-1][:, ::-1], s)  # a strided view, as the tracker appends
    pairs, scores = found.take()
    assert pairs.dtype == np.int64 and np.array_equal(pairs, np.concatenate([p for p, _ in parts]))
    assert np.array_equal(scores.view(np.int64), np.concatenate([s for _, s in parts]).view(np.int64))
    assert found.take()[0].shape == (0, 2)  # taken: empty again
    with pytest.raises(ValueError):
        found.append(np.zeros((2, 2), dtype=np.int64), np.zeros(3))
