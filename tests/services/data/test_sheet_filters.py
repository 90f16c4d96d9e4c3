import pytest

from services.core.errors import ValidationError
from services.data.sheet_filters import check_filter

COLUMNS = ["total_amount", "provider_name", "invoice_date"]


def test_a_condition_is_rebuilt_with_quoted_columns_and_literals_as_parameters():
    checked = check_filter("total_amount > 100 AND lower(provider_name) LIKE '%city%'", COLUMNS)
    assert checked.sql == "`total_amount` > :f0 AND LOWER(`provider_name`) LIKE :f1"
    assert checked.params == {"f0": 100, "f1": "%city%"}
    assert checked.columns == {"total_amount", "provider_name"}


def test_column_names_are_matched_without_regard_to_case():
    assert check_filter("TOTAL_AMOUNT >= 1.5", COLUMNS).sql == "`total_amount` >= :f0"


def test_an_empty_filter_means_no_filter():
    assert check_filter("  ", COLUMNS) is None
    assert check_filter(None, COLUMNS) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("total_amount > 1; DROP TABLE mirion_vital.workbench.sheets", "single expression"),
        ("total_amount IN (SELECT 1)", "Subqueries"),
        ("EXISTS (SELECT 1 FROM x)", "not allowed"),
        ("missing_column = 1", "Unknown column 'missing_column'"),
        ("total_amount", "must be a condition"),
        ("read_files('/etc/passwd') IS NOT NULL", "not allowed"),
        ("other.total_amount = 1", "plain column names"),
        ("total_amount >", "not a valid expression"),
        ("x" * 3000 + " = 1", "longer than"),
    ],
)
def test_unsafe_or_wrong_filters_are_refused_with_a_specific_message(text, message):
    with pytest.raises(ValidationError, match=message):
        check_filter(text, COLUMNS)


@pytest.mark.parametrize(
    "text",
    [
        "(" * 900 + "total_amount > 1" + ")" * 900,
        "(" * 60 + "total_amount > 1" + ")" * 60,
        "NOT " * 400 + "total_amount > 1",
        "total_amount = " + "- " * 600 + "1",
        "total_amount IN (" + "(" * 400 + "1" + ")" * 400 + ")",
    ],
    ids=["900-parentheses", "60-parentheses", "400-nots", "600-minus-signs", "nested-in-list"],
)
def test_a_deeply_nested_filter_is_refused_as_too_deeply_nested(text):
    with pytest.raises(ValidationError, match=r"^The filter is too deeply nested") as error:
        check_filter(text, COLUMNS)
    assert error.value.field == "filter_condition"


def test_a_filter_nested_a_few_levels_deep_is_accepted():
    checked = check_filter("((total_amount > 1 AND (provider_name = 'a' OR NOT (total_amount < -(-5)))))", COLUMNS)
    assert checked.params == {"f0": 1, "f1": "a", "f2": 5}
    in_quotes = "provider_name = '" + "(" * 30 + "' OR provider_name = 'it\\'s ((('"  # parentheses in text do not nest
    assert check_filter(in_quotes, COLUMNS).params == {"f0": "(" * 30, "f1": "it's ((("}
