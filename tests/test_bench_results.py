"""`python -m bench <suite>` replaces its own suites' figures in bench/results.json and keeps
the others, each row with its suite and the time it was taken."""

from __future__ import annotations

import json

import pytest

import bench.__main__ as bench_main
from bench.measure import at_most


@pytest.fixture
def two_suites(tmp_path, monkeypatch):
    figures = {"fast": 1.0, "slow": 5.0}
    monkeypatch.setattr(bench_main, "SUITES", {
        "fast": lambda: [at_most("Fast case", figures["fast"], 2, "s")],
        "slow": lambda: [at_most("Slow case", figures["slow"], 2, "s")],
    })
    monkeypatch.setattr(bench_main, "RESULTS", tmp_path / "results.json")
    return figures


def _rows(path):
    return {r["case"]: r for r in json.loads(path.read_text())["results"]}


def test_a_partial_run_replaces_its_suites_rows_and_keeps_the_others(two_suites):
    assert bench_main.main([]) == 0
    first = _rows(bench_main.RESULTS)
    two_suites["fast"] = 0.5
    assert bench_main.main(["fast"]) == 0
    second = _rows(bench_main.RESULTS)
    assert second["Fast case"]["value"] == 0.5 and second["Fast case"]["suite"] == "fast"
    assert second["Slow case"] == first["Slow case"] and not second["Slow case"]["met"]
    assert list(second) == ["Fast case", "Slow case"]  # suite order, whatever ran last


def test_an_unknown_suite_is_refused_and_writes_nothing(two_suites):
    assert bench_main.main(["nope"]) == 2
    assert not bench_main.RESULTS.exists()
