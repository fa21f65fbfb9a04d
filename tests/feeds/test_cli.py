"""python -m pipeline feeds add | list | remove | run, and their one-line errors (exit 2)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from tests.feeds.exports import Exports, export_csv, serving


@pytest.fixture
def invoke(database_url, engine, tmp_path, monkeypatch):  # engine: so the tables are emptied after each test
    monkeypatch.setenv("FEEDS_ALLOW_PRIVATE", "1")
    monkeypatch.setenv("FEEDS_DIR", str(tmp_path / "feeds"))
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(cli, ["--database-url", database_url, "feeds", *args], catch_exceptions=False)

    return run


def test_add_list_run_and_remove(invoke) -> None:
    with serving(Exports(body=export_csv(6))) as server:
        added = invoke("add", "weekly", f"{server.url}/export.csv", "--every", "6h", "--snapshot", "--dataset", "nga")
        assert added.exit_code == 0 and "every 6h, alert after 1d" in added.output
        assert invoke("list").output.startswith("weekly  every 6h  into nga (snapshot)  last fetch never: not fetched")
        first = invoke("run", "weekly")
        assert first.exit_code == 0 and "feed weekly: changed (run #" in first.output and "6 created" in first.output
        again = invoke("run", "weekly")
        assert again.exit_code == 0 and "feed weekly: unchanged" in again.output
        assert ": unchanged  next due" in invoke("list").output
        server.status = 503
        failed = invoke("run", "weekly")
    assert failed.exit_code == 1 and "error: feed weekly: HTTP 503 (run #" in failed.output
    assert "failed — feed weekly: HTTP 503" in invoke("list").output
    removed = invoke("remove", "weekly")
    assert removed.exit_code == 0 and invoke("list").output.strip() == "no feeds"


@pytest.mark.parametrize(
    ("args", "words"),
    [(("add", "Weekly", "https://example.org/x.csv", "--every", "1h"), "feed name"),
     (("add", "w", "gopher://example.org/x.csv", "--every", "1h"), "only http and https"),
     (("add", "w", "https://example.org/x.csv", "--every", "30s"), "Invalid value for '--every'"),
     (("add", "w", "https://example.org/x.csv", "--every", "soon"), "a duration is"),
     (("add", "w", "https://example.org/x.csv", "--every", "1h", "--expect-change", "1y"), "'--expect-change'"),
     (("add", "w", "https://example.org/x.csv", "--every", "1h", "--dataset", "A B"), "dataset"),
     (("add", "w", "https://example.org/x.csv"), "Missing option '--every'"),
     (("run", "nope"), "no feed named 'nope'"), (("remove", "nope"), "no feed named 'nope'")],
)  # fmt: skip
def test_bad_input_exits_2_with_the_reason(invoke, args: tuple[str, ...], words: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2 and words in result.output


def test_a_name_taken_exits_2(invoke) -> None:
    assert invoke("add", "w", "https://example.org/x.csv", "--every", "1h").exit_code == 0
    taken = invoke("add", "w", "https://example.org/y.csv", "--every", "2h")
    assert taken.exit_code == 2 and "a feed named 'w' exists already" in taken.output
