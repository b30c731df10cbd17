"""Frozen configuration, one small dataclass per stage plus the composite.

Each stage receives only its own sub-config. Every value is validated in
``__post_init__`` and a bad value raises :class:`~dedup.errors.ConfigError`
with a message that says what is allowed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypeVar

from .errors import ConfigError

__all__ = [
    "BoilerplateConfig",
    "ReadConfig",
    "RepeatsConfig",
    "ClusterConfig",
    "DedupConfig",
    "IndexConfig",
    "MinHashConfig",
    "NormalizeConfig",
    "ShingleConfig",
    "StoriesConfig",
    "VerifyConfig",
]

T = TypeVar("T")

KEEP_POLICIES = ("earliest", "longest", "first", "source-priority")


def opt(default: Any, flag: str, help: str) -> Any:
    """A config field that is also a command-line option ``flag`` (the CLI is generated from these)."""
    factory = {"default_factory": lambda: default} if isinstance(default, (list, dict)) else {"default": default}
    return field(metadata={"cli": flag, "help": help}, **factory)


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise ConfigError(message)


def _unit(name: str, value: float) -> None:
    _check(0.0 <= value <= 1.0, f"{name} must be between 0 and 1, got {value!r}")


@dataclass(frozen=True)
class ReadConfig:
    """How input files are read (see :mod:`dedup.io.readers`).

    A field left as ``None`` is auto-detected from common names. With
    ``skip_bad`` a malformed record is skipped and reported instead of
    stopping the run. A record (a line of JSONL, CSV or TSV, a ``.txt``
    file) of more than ``max_record_bytes`` bytes is a bad record, skipped
    while it is read and never held whole: one hostile line must not take
    gigabytes (the default holds a ``max_chars`` text even written with
    ``\\u`` escapes). ``storage_options`` go to the fsspec filesystem of
    URL inputs (``--storage-option KEY=VALUE``, :mod:`dedup.io.remote`); they
    are never written into an output.
    """

    id_field: str | None = opt(None, "--id-field", "Field with the article id (default: id or url; else the position).")
    text_field: str | None = opt(None, "--text-field", "Field with the body text (default: text, content, maintext or body).")
    title_field: str | None = opt(None, "--title-field", "Field with the headline (default: title or headline).")
    date_field: str | None = opt(None, "--date-field", "Field with the date (default: date, published, date_publish or date_extracted).")
    source_field: str | None = opt(None, "--source-field", "Field with the outlet (default: source or source_domain).")
    format: str = opt("auto", "--format", "Input format: auto (by file name; a folder by its files), jsonl, json, csv, tsv, txt, "
                      "zip, parquet or newsplease.")
    skip_bad: bool = opt(False, "--skip-bad", "Skip malformed records and report them instead of stopping.")
    max_record_bytes: int = opt(16 * 2**20, "--max-record-bytes", "Records (a line of JSONL, CSV or TSV, a .txt file) longer "
                                "than this are bad records, skipped without being read whole.")
    storage_options: tuple[tuple[str, Any], ...] = field(default=(), repr=False)  # may hold secrets

    def __post_init__(self) -> None:
        _check(self.max_record_bytes >= 1, f"max_record_bytes must be >= 1, got {self.max_record_bytes}")
        _check(isinstance(self.storage_options, tuple)
               and all(isinstance(o, tuple) and len(o) == 2 and isinstance(o[0], str) for o in self.storage_options),
               "storage_options must be (key, value) pairs, e.g. (('anon', True),)")
        formats = ("auto", "jsonl", "json", "csv", "tsv", "txt", "zip", "parquet", "newsplease")
        _check(self.format in formats, f"input format must be one of {', '.join(formats)}, got {self.format!r}")

    def to_table(self) -> dict[str, Any]:
        """The settings as the ``[read]`` table of a config file or ``summary.json`` (never the storage options: secrets)."""
        return {k: v for k, v in asdict(self).items() if k != "storage_options"}


@dataclass(frozen=True)
class ServeConfig:
    """How ``dedup serve`` listens and guards the index (see :mod:`dedup.serve`): loopback by default; with a
    ``token_file`` every request must bear its token; bodies over ``max_body_mb`` MiB are refused (413)."""

    host: str = opt("127.0.0.1", "--host", "Address to listen on (loopback by default).")
    port: int = opt(8000, "--port", "Port to listen on.")
    token_file: str | None = opt(None, "--token-file", "File holding a token: every request then needs "
                                 "'Authorization: Bearer <token>' (a browser: any user name, the token as password).")
    max_body_mb: float = opt(32.0, "--max-body-mb", "Largest request body, in MiB (413 beyond).")
    window_days: float | None = opt(None, "--window-days", "Compare only with stored articles dated within this many days (>= 0).")
    coalesce: bool = opt(False, "--coalesce", "Decide the batches waiting for the index together (up to 10 x chunk_size "
                         "articles): more headroom under load; each batch still gets its own decisions, but merged batches "
                         "are decided as one batch (not batch by batch as `dedup dedupe --index` would).")
    stories_every: float | None = opt(None, "--stories-every", "Place the articles added into events, as `dedup stories "
                                      "--index` does, every this many seconds (GET /v1/events/ID); off by default.")

    def __post_init__(self) -> None:
        _check(1 <= self.port <= 65535, f"port must be between 1 and 65535, got {self.port}")
        _check(self.stories_every is None or self.stories_every > 0, f"stories_every must be > 0 seconds, got {self.stories_every}")
        _check(self.max_body_mb >= 0.001, f"max_body_mb must be at least 0.001, got {self.max_body_mb}")
        _check(self.window_days is None or self.window_days >= 0, f"window_days must be >= 0, got {self.window_days}")


@dataclass(frozen=True)
class NormalizeConfig:
    """How text is folded before tokenizing (see :mod:`dedup.text.normalize`)."""

    fold_teh_marbuta: bool = True  # ة → ه
    fold_alef_maksura: bool = True  # ى → ي
    repair: bool = True  # mojibake and HTML character references repaired first (dedup.text.mojibake)


@dataclass(frozen=True)
class BoilerplateConfig:
    """Lines repeated across articles of one source are left out of shingling.

    A line is boilerplate when, after normalization, it occurs in at least
    ``min_articles`` articles of the same source and has at most
    ``max_tokens`` tokens (long repeated lines are content: copies of one story).
    """

    enabled: bool = opt(True, "--boilerplate/--no-boilerplate", "Leave per-source boilerplate lines out of the comparison.")
    min_articles: int = 4
    max_tokens: int = 20

    def __post_init__(self) -> None:
        _check(self.min_articles >= 2, f"boilerplate min_articles must be >= 2, got {self.min_articles}")
        _check(self.max_tokens >= 1, f"boilerplate max_tokens must be >= 1, got {self.max_tokens}")


@dataclass(frozen=True)
class ShingleConfig:
    """Shingling of the normalized text.

    ``kind="word"`` makes word k-grams, ``kind="char"`` character k-grams.
    Articles with fewer than ``min_tokens`` tokens are skipped with a reason.
    """

    kind: Literal["word", "char"] = opt("word", "--shingle", "Shingle kind: word k-grams or character k-grams.")
    k: int | None = opt(None, "-k", "Shingle size (default 3 words or 5 characters).")
    min_tokens: int = opt(8, "--min-tokens", "Articles with fewer tokens are skipped (reported, passed through).")

    def __post_init__(self) -> None:
        _check(self.kind in ("word", "char"), f"shingle kind must be 'word' or 'char', got {self.kind!r}")
        if self.k is None:  # the size that suits the kind
            object.__setattr__(self, "k", 3 if self.kind == "word" else 5)
        _check(1 <= self.k <= 32, f"shingle size k must be between 1 and 32, got {self.k}")
        _check(self.min_tokens >= 1, f"min_tokens must be >= 1, got {self.min_tokens}")


@dataclass(frozen=True)
class MinHashConfig:
    """MinHash parameters; the scheme is datasketch 2.x's ``affine32``."""

    num_perm: int = opt(128, "--num-perm", "MinHash permutations.")
    seed: int = opt(1, "--seed", "MinHash seed.")

    scheme: str = field(default="affine32", init=False)

    def __post_init__(self) -> None:
        _check(16 <= self.num_perm <= 1024, f"num_perm must be between 16 and 1024, got {self.num_perm}")
        _check(0 <= self.seed < 2**32, f"seed must be between 0 and 2**32-1, got {self.seed}")


@dataclass(frozen=True)
class IndexConfig:
    """Candidate generation.

    ``threshold`` is the Jaccard threshold the LSH bands are tuned for (by
    datasketch); keep it below the decision threshold so that pairs at the
    decision threshold are found with high probability. The anchor path finds
    containment: articles sharing a sampled word ``anchor_k``-gram (1 in
    ``anchor_sample`` of them) become candidates. Buckets with more than
    ``max_bucket`` members contribute a star (each member with the first)
    instead of all pairs, so no bucket can make the work quadratic. A
    candidate whose containment estimated from the signatures is below
    ``min_estimate`` is not verified: a cheap screen before the exact scores
    (what it screens out on the dev days: ``results/bench_dedupe.json``).
    """

    threshold: float = opt(0.3, "--lsh-threshold", "Jaccard threshold the LSH bands are tuned for (keep it below --jaccard).")
    fp_weight: float = 0.5
    anchors: bool = opt(True, "--anchors/--no-anchors", "Use the anchor index that finds contained copies.")
    anchor_k: int = 8
    anchor_sample: int = 8
    max_bucket: int = 50
    backend: Literal["numpy", "datasketch"] = "numpy"
    min_estimate: float = 0.15

    def __post_init__(self) -> None:
        _check(0.0 < self.threshold < 1.0, f"LSH threshold must be strictly between 0 and 1, got {self.threshold}")
        _check(0.0 <= self.fp_weight < 1.0, f"fp_weight must be at least 0 and below 1 (at 1 false negatives weigh "
                                            f"nothing and no banding has the two bands LSH needs), got {self.fp_weight!r}")
        _check(self.anchor_k >= 2, f"anchor_k must be >= 2, got {self.anchor_k}")
        _check(self.anchor_sample >= 1, f"anchor_sample must be >= 1, got {self.anchor_sample}")
        _check(self.max_bucket >= 2, f"max_bucket must be >= 2, got {self.max_bucket}")
        _unit("min_estimate", self.min_estimate)
        _check(self.backend in ("numpy", "datasketch"), f"index backend must be 'numpy' or 'datasketch', got {self.backend!r}")


@dataclass(frozen=True)
class VerifyConfig:
    """What decides whether a candidate pair is a duplicate: the learned model (default) or the rule.

    A pair is ``near`` when its Jaccard is at least ``jaccard`` and its TF-IDF
    cosine at least ``min_cosine``; otherwise ``contained`` when the shorter
    article's containment in the longer is at least ``containment``.
    Identical normalized text is ``exact``.
    """

    jaccard: float = opt(0.4, "--jaccard", "With --decision rule: Jaccard from which a pair is a near-duplicate.")
    containment: float = opt(0.6, "--containment", "With --decision rule: containment of the shorter article from which it is a contained copy.")
    min_cosine: float = opt(0.5, "--min-cosine", "With --decision rule: TF-IDF cosine a near-duplicate pair must also reach (contained copies are exempt).")
    decision: Literal["model", "rule"] = opt(
        "model", "--decision", "model: the learned decision (a probability over the scores, rare words, lengths, source and "
        "time, fitted on labelled pairs); rule: the --jaccard/--containment/--min-cosine thresholds.")
    min_probability: float = opt(
        0.0, "--min-probability", "With --decision model: the probability from which a pair is a copy; 0 = the shipped "
        "model's threshold (chosen by cross-validation for precision 0.97).")
    model: str = opt(
        "", "--decision-model", "With --decision model: a model file written by scripts/fit_decision.py (fitted on your "
        "own labels); empty = the model shipped in the package.")

    def __post_init__(self) -> None:
        _unit("jaccard threshold", self.jaccard)
        _unit("containment threshold", self.containment)
        _unit("min_cosine", self.min_cosine)
        _unit("min_probability", self.min_probability)
        _check(self.decision in ("model", "rule"), f"decision must be 'model' or 'rule', got {self.decision!r}")


@dataclass(frozen=True)
class ClusterConfig:
    """Grouping and the choice of the kept article in each group.

    ``method="star"`` (default): every member is verified against the
    group's keeper (no chaining). ``method="union"``: connected components of
    the verified edges, with the containment guard: more complete, less
    precise (measured in ``results/eval_dedupe_dev.json``).
    """

    keep: Literal["earliest", "longest", "first", "source-priority"] = opt(
        "earliest", "--keep", "Which copy of a group to keep; ties go to the first in input order.")
    source_priority: tuple[str, ...] = opt((), "--source-priority", "Comma-separated sources, best first (with --keep source-priority).")
    method: Literal["star", "union"] = opt(
        "star", "--cluster", "star: every copy verified against its keeper; union: connected components of verified pairs "
        "with the containment guard (more complete, less precise).")

    def __post_init__(self) -> None:
        _check(self.method in ("star", "union"), f"cluster method must be 'star' or 'union', got {self.method!r}")
        _check(self.keep in KEEP_POLICIES, f"keep policy must be one of {', '.join(KEEP_POLICIES)}, got {self.keep!r}")
        _check(
            self.keep != "source-priority" or bool(self.source_priority),
            "keep policy 'source-priority' needs a source priority list (--source-priority a,b,c)",
        )


@dataclass(frozen=True)
class RepeatsConfig:
    """Detection of paragraphs repeated inside one article (see :mod:`dedup.repeats`).

    A paragraph is content when it has at least ``min_tokens`` normalized
    tokens that are not pure numbers (so a dateline such as
    ``آسيا 15-07-2025 | 11:56`` is short). Short lines repeated exactly are
    reported as ``boilerplate`` (or left out with ``report_boilerplate=False``),
    never as repeated content. ``near`` is the paragraph similarity (in-order
    token matches, :func:`dedup.repeats.paragraph_similarity`) from which two
    paragraphs count as a lightly edited repeat; the default comes from
    ``scripts/calibrate_repeats.py`` (``results/repeats_calibration.json``).
    Both paragraphs of a near repeat need ``near_min_tokens`` such tokens: on
    short lines one changed word marks a different list entry, poem line or
    signature far more often than an edit. With ``near_same_numbers`` they
    must also carry the same numbers in the same order: "round 3" and
    "round 4" are different paragraphs.
    Exact and contained repeats need no threshold: they match tokens exactly.
    A repeated paragraph of fewer than ``context_tokens`` such tokens counts
    only where scrapers repeat lines (next to its copy, at the headline, in a
    block of repeats, glued into a run-on line, as a truncated copy): far
    from its copy a short line is a formula, a list entry or a refrain
    (:mod:`dedup.repeats.context`).
    """

    min_tokens: int = opt(4, "--min-tokens", "Lines with fewer tokens are boilerplate, never repeated content.")
    near: float = opt(0.89, "--near", "Similarity from which two paragraphs are a lightly edited repeat (results/repeats_calibration.json).")
    near_min_tokens: int = 8
    near_same_numbers: bool = True
    context_tokens: int = 15
    report_boilerplate: bool = opt(
        True, "--boilerplate/--no-boilerplate", "Report repeated short lines with kind 'boilerplate' (--no-boilerplate leaves them out).")
    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)

    def __post_init__(self) -> None:
        _check(self.min_tokens >= 1, f"repeats min_tokens must be >= 1, got {self.min_tokens}")
        _check(
            self.near_min_tokens >= self.min_tokens,
            f"repeats near_min_tokens ({self.near_min_tokens}) must be >= min_tokens ({self.min_tokens})",
        )
        _check(
            self.context_tokens >= self.min_tokens,
            f"repeats context_tokens ({self.context_tokens}) must be >= min_tokens ({self.min_tokens})",
        )
        _check(
            0.5 <= self.near <= 1.0,
            f"repeats near threshold must be between 0.5 and 1 (below 0.5 unrelated paragraphs match), got {self.near!r}",
        )


@dataclass(frozen=True)
class DedupConfig:
    """Everything ``dedup dedupe`` needs, one sub-config per stage."""

    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)
    boilerplate: BoilerplateConfig = field(default_factory=BoilerplateConfig)
    shingle: ShingleConfig = field(default_factory=ShingleConfig)
    minhash: MinHashConfig = field(default_factory=MinHashConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    verify: VerifyConfig = field(default_factory=VerifyConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    repeats: RepeatsConfig = field(default_factory=RepeatsConfig, metadata={"cli": False})
    count_repeats: bool = opt(False, "--repeats", "Count each article's internally repeated paragraphs into its decision (slower).")
    clean_repeats: bool = opt(False, "--clean-repeats", "Remove internally repeated paragraphs before comparing (implies --repeats).")
    max_chars: int = opt(1_000_000, "--max-chars", "Articles longer than this are skipped (reported, passed through).")

    def __post_init__(self) -> None:
        _check(self.max_chars >= 1, f"max_chars must be >= 1, got {self.max_chars}")
        if self.clean_repeats:  # cleaning needs the repeats found first
            object.__setattr__(self, "count_repeats", True)

    def to_dict(self) -> dict[str, Any]:
        """All parameters as plain JSON-able data (``summary.json``'s ``parameters``; :func:`from_dict` reads it back)."""
        return asdict(self)


@dataclass(frozen=True)
class StoriesConfig:
    """Events and storylines (see :mod:`dedup.stories`).

    Articles are compared by the cosine of sublinear TF-IDF vectors of the
    normalized body plus the headline (weighted ``title_weight``): word
    unigrams (and ``bigrams``) mixed with character ``char_k``-grams, the
    latter with weight ``char_weight`` in the cosine. IDF counts
    ``idf_prior_documents`` background pseudo-documents besides the batch (so
    that a handful of articles still tells "the" from a name; see
    :mod:`dedup.store.background`) and is raised to ``idf_power`` so that rare
    words (names, places) carry the cosine. Each article's ``neighbours``
    most similar articles with a story score of at least ``min_candidate``
    are the candidates (sparse products in chunks of ``chunk_rows`` rows, no
    all-pairs list); neighbours are found on word TF-IDF without the words
    in more than ``max(candidate_max_df, candidate_max_df_fraction · n)``
    articles (keeping pairs from ``min_word_cosine`` on), then scored with
    the full vectors. For events, two articles whose dates are both known and
    more than ``window_days`` apart are never linked, and an event never
    spans more than ``window_days``, not even to hold a whole duplicate group
    (a copy republished later is cut off into a later event).

    The story score of a pair is ``sigmoid(score_intercept + score_cosine ·
    sqrt(cosine) + score_length · ln(shorter / longer) + score_numbers ·
    shared-number Jaccard)``, times ``number_penalty`` for templated reports
    (weather, prices, results of different days): texts worded alike (cosine
    at least ``template_cosine``) that both carry at least ``min_numbers``
    distinct numbers and share none of them. An edge with a story score of
    at least ``event_threshold`` may merge two events, and it does only when
    the *average* cosine over all cross pairs of the two events is at least
    ``event_linkage`` (average linkage: one strong link cannot chain two
    unrelated stories). Storylines cluster the event centroids by their
    cosine, without a time window, from ``storyline_threshold`` /
    ``storyline_linkage`` on. With ``semantic`` the pairs whose story score
    lies in the band of the shipped semantic model are re-scored with a
    sentence encoder's cosine (:mod:`dedup.stories.semantic`; the extra
    ``dedup[semantic]``, checked when a flow starts).
    """

    title_weight: float = opt(1.0, "--title-weight", "Weight of the headline against the body.")
    bigrams: bool = False
    char_k: int = 4
    char_weight: float = 0.7
    idf_power: float = 2.0
    idf_prior_documents: float = 100.0
    neighbours: int = opt(20, "--neighbours", "Candidate neighbours per article.")
    candidate_max_df: int = 50
    candidate_max_df_fraction: float = 0.01
    min_word_cosine: float = 0.03
    min_candidate: float = 0.35
    chunk_rows: int = 500
    window_days: float = opt(3.0, "--window-days", "Articles with known dates further apart than this are never one event.")
    # Thresholds chosen with scripts/eval_stories.py: events on the 240 labelled SaudiNewsNet dev pairs
    # (same event or not), storylines on the UCI storyline ARI and the dev pairs (same topic together,
    # unrelated apart); 0.07 and 0.1 tie there for storyline_threshold, 0.07 links the seeds 000 and 002.
    event_threshold: float = opt(0.8, "--event-threshold", "Story score from which a pair may join two events (same event, for similarity).")
    event_linkage: float = opt(0.2, "--event-linkage", "Average cosine over all cross pairs two events need to merge (the chaining guard).")
    storyline_threshold: float = opt(0.07, "--storyline-threshold", "Centroid cosine from which two events may share a storyline.")
    storyline_linkage: float = opt(0.05, "--storyline-linkage", "Average centroid cosine two storylines need to merge.")
    centroid_terms: int = 256  # weights an event centroid keeps for storylines (events stream; the rows go)
    number_penalty: float = 0.3
    min_numbers: int = 3
    template_cosine: float = 0.5  # same-story SemEval pairs with disjoint numbers reach 0.41; templated reports ~0.7
    # Slots (dedup.stories.slots, events only): a pair filling at least slot_min_conflicts template frames differently
    # (frames the open window fills with template_fillers different fillers) is scored times slot_penalty; a slot token
    # is a number or a word with a background share under slot_max_share. slot_penalty = 1 turns the rule off.
    slot_penalty: float = 1.0  # off by default: event F1 flat out of fold (results/eval_stories.json slots_cv), +30 % time; 0.5 = on
    slot_min_conflicts: int = 1
    template_fillers: int = 3
    slot_max_share: float = 0.005
    # The semantic story score (dedup.stories.semantic, extra dedup[semantic]): the pairs whose story score lies in the
    # shipped model's band around event_threshold are re-scored with a sentence encoder's cosine beside the lexical
    # features. Off by default: it embeds every article (11-27 CPU-s per 1,000 articles measured; docs/stories.md).
    semantic: bool = opt(False, "--semantic", "Re-score the pairs near --event-threshold with a multilingual sentence "
                         "encoder (pip install 'dedup[semantic]'; 11-27 CPU-s per 1,000 articles).")
    # Fitted by scripts/fit_story_score.py (fractional logistic regression of
    # (4 - Overall) / 3 on the 645 same-language SemEval-2022 Task 8 training
    # pairs); plain constants so that scores do not depend on a model file.
    score_intercept: float = -3.87
    score_cosine: float = 8.34
    score_length: float = -0.71
    score_numbers: float = 0.51
    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)

    def __post_init__(self) -> None:
        _check(self.title_weight >= 0, f"title_weight must be >= 0, got {self.title_weight}")
        _check(1 <= self.char_k <= 16, f"char_k must be between 1 and 16, got {self.char_k}")
        _unit("char_weight", self.char_weight)
        _check(self.neighbours >= 1, f"neighbours must be >= 1, got {self.neighbours}")
        _unit("min_candidate", self.min_candidate)
        _check(self.candidate_max_df >= 1, f"candidate_max_df must be >= 1, got {self.candidate_max_df}")
        _unit("candidate_max_df_fraction", self.candidate_max_df_fraction)
        _unit("min_word_cosine", self.min_word_cosine)
        _check(self.chunk_rows >= 1, f"chunk_rows must be >= 1, got {self.chunk_rows}")
        _check(self.centroid_terms >= 1, f"centroid_terms must be >= 1, got {self.centroid_terms}")
        _check(self.window_days > 0, f"window_days must be > 0 (days), got {self.window_days}")
        for name in ("event_threshold", "event_linkage", "storyline_threshold", "storyline_linkage", "number_penalty", "template_cosine"):
            _unit(name, getattr(self, name))
        _check(self.min_numbers >= 1, f"min_numbers must be >= 1, got {self.min_numbers}")
        _unit("slot_penalty", self.slot_penalty)
        _unit("slot_max_share", self.slot_max_share)
        _check(self.slot_min_conflicts >= 1, f"slot_min_conflicts must be >= 1, got {self.slot_min_conflicts}")
        _check(self.template_fillers >= 2, f"template_fillers must be >= 2 (a template is filled differently), got {self.template_fillers}")
        _check(self.idf_power >= 0, f"idf_power must be >= 0 (0 = no IDF, 1 = plain IDF), got {self.idf_power}")
        _check(self.idf_prior_documents >= 0, f"idf_prior_documents must be >= 0 (0 = IDF of the batch alone), got {self.idf_prior_documents}")
        _check(
            self.storyline_linkage <= self.event_linkage,
            f"storyline_linkage ({self.storyline_linkage}) must be <= event_linkage ({self.event_linkage}): storylines are the coarser level",
        )
