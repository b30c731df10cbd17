"""Config checks, the round trip through plain data, and --config files on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dedup.cli import app
from dedup.config import (
    BoilerplateConfig,
    ClusterConfig,
    DedupConfig,
    IndexConfig,
    MinHashConfig,
    RepeatsConfig,
    ShingleConfig,
    StoriesConfig,
    VerifyConfig,
)
from dedup.settings import from_dict
from dedup.errors import ConfigError

BAD = [
    (ShingleConfig, {"kind": "sentence"}, "kind"),
    (ShingleConfig, {"k": 0}, "between 1 and 32"),
    (MinHashConfig, {"num_perm": 8}, "num_perm"),
    (IndexConfig, {"threshold": 1.0}, "strictly between"),
    (IndexConfig, {"max_bucket": 1}, "max_bucket"),
    (VerifyConfig, {"jaccard": 1.5}, "between 0 and 1"),
    (ClusterConfig, {"method": "chain"}, "star"),
    (ClusterConfig, {"keep": "newest"}, "keep policy"),
    (ClusterConfig, {"keep": "source-priority"}, "source priority list"),
    (BoilerplateConfig, {"min_articles": 1}, "min_articles"),
    (RepeatsConfig, {"near": 0.3}, "near threshold"),
    (StoriesConfig, {"window_days": 0}, "window_days"),
    (DedupConfig, {"max_chars": 0}, "max_chars"),
]


@pytest.mark.parametrize(("cls", "kwargs", "message"), BAD, ids=[f"{c.__name__}-{next(iter(k))}" for c, k, _ in BAD])
def test_bad_values_are_config_errors(cls: type, kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        cls(**kwargs)


def test_shingle_size_follows_the_kind() -> None:
    assert ShingleConfig().k == 3 and ShingleConfig(kind="char").k == 5 and ShingleConfig(kind="char", k=7).k == 7


def test_clean_repeats_implies_counting_them() -> None:
    assert DedupConfig(clean_repeats=True).count_repeats


@pytest.mark.parametrize("config", [DedupConfig(), DedupConfig(verify=VerifyConfig(jaccard=0.7), cluster=ClusterConfig(
    keep="source-priority", source_priority=("was", "spa")), shingle=ShingleConfig(kind="char"))], ids=["default", "changed"])
def test_round_trip_through_plain_data(config: DedupConfig) -> None:
    assert from_dict(DedupConfig, json.loads(json.dumps(config.to_dict()))) == config


@pytest.mark.parametrize(("data", "message"), [
    ({"verify": {"jacard": 0.5}}, "unknown setting 'jacard'"),
    ({"minhash": {"scheme": "mod61"}}, "fixed to 'affine32'"),
    ({"verify": 3}, "expected a table"),
    ({"verify": {"jaccard": "high"}}, "jaccard must be a number, got 'high'"),
    ({"verify": {"jaccard": float("nan")}}, "jaccard must be a finite number, got nan"),
    ({"index": {"anchors": "no"}}, "anchors must be true or false, got 'no'"),
    ({"minhash": {"num_perm": 12.5}}, "num_perm must be a whole number, got 12.5"),
    ({"minhash": {"num_perm": True}}, "num_perm must be a whole number, got True"),
    ({"cluster": {"source_priority": [1, 2]}}, "source_priority must be a list of strings"),
    ({"cluster": {"keep": 3}}, "keep must be one of 'earliest'"),
], ids=["typo", "fixed-field", "not-a-table", "str-for-float", "nan", "str-for-bool", "float-for-int", "bool-for-int",
        "list-of-numbers", "literal"])
def test_from_dict_rejects(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        from_dict(DedupConfig, data)


def _dedupe(tmp_path: Path, seeds_dir: Path, *args: str) -> tuple[int, str, dict]:
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["dedupe", str(seeds_dir), "--out", str(out), "--quiet", *args])
    summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").exists() else {}
    return res.exit_code, res.output, summary


def test_config_file_sets_and_options_win(tmp_path: Path, seeds_dir: Path) -> None:
    cfg = tmp_path / "dedup.toml"
    cfg.write_text('[dedupe.verify]\njaccard = 0.55\ncontainment = 0.7\n[dedupe.cluster]\nkeep = "longest"\n[runtime]\nchunk_size = 3\n')
    code, _, summary = _dedupe(tmp_path, seeds_dir, "--config", str(cfg), "--containment", "0.65")
    assert code == 0
    conf = summary["config"]
    assert conf["dedupe"]["verify"] == {"jaccard": 0.55, "containment": 0.65, "min_cosine": 0.5, "decision": "model", "min_probability": 0.0, "model": ""}
    assert conf["dedupe"]["cluster"]["keep"] == "longest" and conf["runtime"]["chunk_size"] == 3


def test_summary_config_repeats_the_run(tmp_path: Path, seeds_dir: Path) -> None:
    """summary.json's config section, written back as TOML tables, gives the same settings."""
    code, _, first = _dedupe(tmp_path, seeds_dir, "--jaccard", "0.45", "--keep", "first", "--no-anchors")
    assert code == 0
    again = from_dict(DedupConfig, first["config"]["dedupe"])
    assert again.verify.jaccard == 0.45 and again.cluster.keep == "first" and not again.index.anchors


@pytest.mark.parametrize(("text", "message"), [
    ("[dedupe.verify]\njacard = 0.5\n", "unknown setting 'jacard'"),
    ("[dedup]\n", "unknown table"),
    ("[dedupe\n", "not valid TOML"),
], ids=["typo", "table", "syntax"])
def test_bad_config_file_is_one_line(tmp_path: Path, seeds_dir: Path, text: str, message: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    code, output, _ = _dedupe(tmp_path, seeds_dir, "--config", str(cfg))
    assert code == 1 and message in output and "Traceback" not in output


def test_config_file_not_utf8_is_one_line_naming_the_line(tmp_path: Path, seeds_dir: Path) -> None:
    cfg = tmp_path / "cp.toml"
    cfg.write_bytes("[dedupe]\n# مصادر\n".encode("cp1256"))  # it was a UnicodeDecodeError traceback
    code, output, _ = _dedupe(tmp_path, seeds_dir, "--config", str(cfg))
    assert code == 1 and "cp.toml:2: the config file is not UTF-8 text" in output and "Traceback" not in output


def test_config_file_with_a_byte_order_mark_is_read(tmp_path: Path, seeds_dir: Path) -> None:
    cfg = tmp_path / "bom.toml"
    cfg.write_bytes("\ufeff[dedupe.verify]\njaccard = 0.45\n".encode("utf-8"))  # was "not valid TOML (... line 1, column 1)"
    code, output, _ = _dedupe(tmp_path, seeds_dir, "--config", str(cfg))
    assert code == 0, output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["config"]["dedupe"]["verify"]["jaccard"] == 0.45


def test_a_bad_byte_after_a_byte_order_mark_is_located_in_the_file(tmp_path: Path, seeds_dir: Path) -> None:
    cfg = tmp_path / "bom_cp.toml"
    cfg.write_bytes("\ufeff".encode("utf-8") + b"#\n\n" + "# مصادر\n".encode("cp1256"))
    code, output, _ = _dedupe(tmp_path, seeds_dir, "--config", str(cfg))
    assert code == 1 and "bom_cp.toml:3: the config file is not UTF-8 text (byte 0xe3)" in output


@pytest.mark.parametrize(("command", "args", "message"), [
    ("serve", ["--index", "{tmp}/x.db", "--config", "{cfg}"], "[serve]: host must be a string, got 5"),
    ("repeats", ["seeds", "--out", "{tmp}/o", "--config", "{cfg}"], "[serve]: host must be a string, got 5"),
    ("stories", ["seeds", "--out", "{tmp}/o", "--window-days", "inf"], "window_days (--window-days) must be a finite number"),
    ("dedupe", ["seeds", "--out", "{tmp}/o", "--jaccard", "nan"], "jaccard (--jaccard) must be a finite number, got nan"),
    ("dedupe", ["seeds", "--out", "{tmp}/o", "--index", "{tmp}/x.db", "--window-days", "nan"],
     "window_days (--window-days) must be a finite number >= 0, got nan"),
    ("dedupe", ["seeds", "--out", "{tmp}/o", "--window-days", "3"], "--window-days needs --index"),
], ids=["serve-host", "repeats-ignores-serve", "stories-window-inf", "jaccard-nan", "window-nan", "window-without-index"])
def test_a_value_of_the_wrong_type_is_one_line_before_any_work(tmp_path: Path, seeds_dir: Path, command: str,
                                                                 args: list[str], message: str) -> None:
    """``host = 5`` was a traceback, ``coalesce = "no"`` turned coalescing on, ``--window-days inf`` broke the stories
    tracker with a traceback, ``nan`` passed every range check; ``--window-days`` without ``--index`` was click's
    three-line usage error with exit code 2 where every other setting that needs another is one line, exit 1."""
    cfg = tmp_path / "c.toml"
    cfg.write_text('[serve]\nhost = 5\n')
    argv = [a.format(tmp=tmp_path, cfg=cfg).replace("seeds", str(seeds_dir)) if a == "seeds" else a.format(tmp=tmp_path, cfg=cfg)
            for a in args]
    res = CliRunner().invoke(app, [command, *argv])
    if command == "repeats":  # a command that reads no [serve] table does not check it
        assert res.exit_code == 0, res.output
        return
    assert res.exit_code == 1 and message in res.output and "Traceback" not in res.output
    assert not (tmp_path / "x.db").exists() and not (tmp_path / "o" / "summary.json").exists()


def test_a_bad_option_value_is_not_blamed_on_the_config_file(tmp_path: Path, seeds_dir: Path) -> None:
    """With --config, `--jaccard nan` read "c.toml: [dedupe].verify: jaccard must be ..."."""
    cfg = tmp_path / "c.toml"
    cfg.write_text("[stories]\nneighbours = 20\n")
    res = CliRunner().invoke(app, ["dedupe", str(seeds_dir), "--out", str(tmp_path / "o"), "--config", str(cfg), "--jaccard", "nan"])
    assert res.exit_code == 1 and "jaccard (--jaccard) must be a finite number, got nan" in res.output and "c.toml" not in res.output
