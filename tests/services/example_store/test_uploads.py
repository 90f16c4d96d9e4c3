from __future__ import annotations

import json

import pytest

from services.core.errors import ValidationError
from services.core.workbench import Workbench
from services.example_store.examples import ExampleStore
from services.example_store.uploads import MAX_UPLOAD_ROWS


@pytest.fixture
def store(workbench: Workbench) -> ExampleStore:
    return ExampleStore(workbench)


def test_a_jsonl_upload_adds_the_good_rows_and_reports_each_bad_one_by_line(store: ExampleStore) -> None:
    lines = [
        json.dumps({"input": "Reading of 40 µSv/h", "expected_output": {"tool": "raise_alert", "args": {"level": "high"}},
                    "search_keys": ["dose", "alert"], "function_name": "raise_alert", "domain": "radiation", "quality_score": 0.9}),
        "{not json",
        json.dumps({"input": "", "expected_output": "x"}),
        "",
        json.dumps({"input": "Invoice overdue", "expected_output": "urgent", "quality_score": 3}),
        json.dumps(["a list"]),
        json.dumps({"input": "Pump vibrates", "expected_output": "inspect", "colour": "red"}),
        json.dumps({"input": "Crystal cracked", "expected_output": "crack"}),
    ]

    report = store.upload("examples.jsonl", "\n".join(lines).encode())

    assert len(report.added) == 2
    assert [(p.row, p.message.split(" ")[0]) for p in report.problems] == [(2, "Not"), (3, "An"), (5, "Quality"), (6, "Each"), (7, "Unknown")]
    first = store.get(report.added[0])
    assert json.loads(first.expected_output) == {"tool": "raise_alert", "args": {"level": "high"}}
    assert first.search_keys == ("dose", "alert") and first.function_name == "raise_alert"


def test_a_csv_upload_counts_rows_as_a_spreadsheet_does_and_splits_search_keys(store: ExampleStore) -> None:
    data = "input,expected_output,search_keys,quality_score\nCracked crystal,crack,crack;edge,0.5\nNo output,,,\nBad score,x,,high\n"

    report = store.upload("examples.csv", data.encode())

    assert [p.row for p in report.problems] == [3, 4]
    assert store.get(report.added[0]).search_keys == ("crack", "edge")


@pytest.mark.parametrize(("name", "data", "message"), [
    ("examples.txt", b"input", "csv or .jsonl"),
    ("examples.csv", b"question,answer\nq,a\n", "needs the column"),
    ("examples.jsonl", b"\xff\xfe\x00", "not UTF-8"),
    ("examples.csv", ("input,expected_output\n" + "q,a\n" * (MAX_UPLOAD_ROWS + 1)).encode(), "at most"),
])
def test_a_file_that_cannot_be_read_as_a_whole_adds_nothing_and_says_why(store: ExampleStore, name: str, data: bytes, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        store.upload(name, data)
    assert store.count() == 0
