"""Name checks match the whole name: a pattern ending in `$` also accepts a trailing newline, so
`classification\\n` would pass for `classification` and start a look-alike labelset. Patterns
end in `\\Z` (or are used with fullmatch)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from data_access.llm.databricks_serving import DatabricksServingChat
from data_access.settings import SettingsError, checked_identifier
from data_access.sql.names import InvalidNameError, check_identifier
from data_access.sql.transpile import is_qualified_name
from data_access.volumes import VolumePath, VolumePathError
from services.core.domain.template import is_valid_label_type

ROOT = Path(__file__).resolve().parents[1]
SOURCE_LAYERS = ("services", "data_access", "components", "pages", "api")
_REGEX_FUNCTIONS = {"compile", "match", "fullmatch", "search"}


def patterns_ending_in_dollar(root: Path = ROOT) -> list[str]:
    found = []
    for layer in SOURCE_LAYERS:
        for path in sorted((root / layer).rglob("*.py")) if (root / layer).is_dir() else []:
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                    continue
                if not (isinstance(node.func.value, ast.Name) and node.func.value.id == "re" and node.func.attr in _REGEX_FUNCTIONS):
                    continue
                pattern = node.args[0] if node.args else None
                if isinstance(pattern, ast.Constant) and isinstance(pattern.value, str) and pattern.value.endswith("$") and not pattern.value.endswith("\\$"):
                    found.append(f"{path.relative_to(root)}:{node.lineno} {pattern.value!r}")
    return found


def test_no_name_check_in_the_app_ends_in_a_dollar_sign():
    assert patterns_ending_in_dollar() == []


def test_the_scan_finds_a_pattern_ending_in_a_dollar_sign(tmp_path):
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "names.py").write_text('import re\n_NAME = re.compile(r"^[a-z]+$")\n_PRICE = re.compile(r"\\$")\n')
    assert patterns_ending_in_dollar(tmp_path) == ["services/names.py:2 '^[a-z]+$'"]


def test_a_label_type_with_a_trailing_newline_is_not_a_label_type():
    assert is_valid_label_type("classification")
    assert not is_valid_label_type("classification\n")


@pytest.mark.parametrize(
    ("check", "error"),
    [
        (lambda name: check_identifier(name), InvalidNameError),
        (lambda name: checked_identifier(name, "WORKBENCH_CATALOG"), SettingsError),
        (lambda name: VolumePath.parse(f"/Volumes/{name}/raw/files"), VolumePathError),
        (lambda name: DatabricksServingChat(lambda: None, name), ValueError),
    ],
    ids=["sql-identifier", "settings-identifier", "volume-part", "serving-endpoint"],
)
def test_a_name_with_a_trailing_newline_is_refused(check, error):
    check("mirion_vital")
    with pytest.raises(error):
        check("mirion_vital\n")


def test_a_qualified_name_with_a_trailing_newline_is_not_one():
    assert is_qualified_name("mirion_vital.workbench.sheets")
    assert not is_qualified_name("mirion_vital.workbench.sheets\n")
