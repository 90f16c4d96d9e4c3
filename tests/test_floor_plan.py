"""The floor plan stays true as the code grows: imports point one way between layers
(pages → components → services → data_access, api → services) and, inside `services`,
a stage package imports `core` and earlier stages only. Every import counts, including
the ones made inside a function."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# What each layer must never import (the top-level package of the imported module).
LAYER_BANS = {
    "pages": {"data_access", "api"},
    "components": {"pages", "data_access", "api"},
    "api": {"pages", "components", "data_access", "streamlit"},
    "services": {"pages", "components", "api", "streamlit"},
    "data_access": {"pages", "components", "api", "services", "streamlit"},
}

# Lifecycle order: a stage may import `core` and the stages before it, never a later one.
STAGE_ORDER = ("core", "data", "templates", "labels", "generate", "review", "train", "deploy", "monitor", "improve")
# The tools sit above templates and labels; the later stages may use them.
TOOLS = {"example_store": {"core", "data", "templates", "labels"}, "dspy": {"core", "data", "templates", "labels", "example_store"}}
TOOL_USERS = {"generate", "deploy", "monitor", "improve"}  # generate fills templates' retrieved examples
# The demo seeds every stage, so it stands above all of them; nothing imports it.
TOP = "demo"


def allowed_imports(stage: str) -> set[str]:
    if stage == TOP:
        return set(STAGE_ORDER) | set(TOOLS) | {TOP}
    if stage in TOOLS:
        return TOOLS[stage] | {stage}
    allowed = set(STAGE_ORDER[: STAGE_ORDER.index(stage) + 1])
    if stage in TOOL_USERS:
        allowed |= set(TOOLS)
    return allowed


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            if node.module in ("services", "components"):
                for alias in node.names:
                    yield node.lineno, f"{node.module}.{alias.name}"


def python_files(root: Path, layer: str) -> list[Path]:
    base = root / layer
    return sorted(base.rglob("*.py")) if base.is_dir() else []


def stage_of(root: Path, path: Path) -> str | None:
    parts = path.relative_to(root / "services").parts
    return parts[0] if len(parts) > 1 else None


def layer_violations(root: Path = ROOT) -> list[str]:
    found = []
    for layer, banned in LAYER_BANS.items():
        for path in python_files(root, layer):
            for line, module in imported_modules(path):
                if module.split(".")[0] in banned:
                    found.append(f"{path.relative_to(root)}:{line} imports {module}")
    return found


def stage_violations(root: Path = ROOT) -> list[str]:
    found = []
    known = set(STAGE_ORDER) | set(TOOLS) | {TOP}
    for path in python_files(root, "services"):
        stage = stage_of(root, path)
        if stage is None:
            continue
        for line, module in imported_modules(path):
            parts = module.split(".")
            if parts[0] != "services" or len(parts) < 2:
                continue
            target = parts[1]
            if target not in known:
                found.append(f"{path.relative_to(root)}:{line} imports {module}, which is in no stage package")
            elif target not in allowed_imports(stage):
                found.append(f"{path.relative_to(root)}:{line}: {stage} imports {module} ({target} is not below {stage})")
    return found


def test_imports_point_one_way_between_layers():
    assert layer_violations() == []


def test_a_stage_imports_only_core_and_earlier_stages():
    assert stage_violations() == []


def test_every_service_module_lives_in_a_stage_package():
    loose = [p.name for p in (ROOT / "services").glob("*.py") if p.name != "__init__.py"]
    unknown = [p.name for p in (ROOT / "services").iterdir() if p.is_dir() and not p.name.startswith("__")
               and p.name not in set(STAGE_ORDER) | set(TOOLS) | {TOP}]
    assert loose == [] and unknown == []


@pytest.mark.parametrize(
    ("stage", "source", "expected"),
    [
        ("labels", "from services.review.actions import ReviewService\n", "labels imports services.review.actions"),
        ("core", "def f():\n    from services.demo import x\n", "core imports services.demo"),
        ("data", "import streamlit as st\n", None),
    ],
)
def test_the_rule_catches_a_backwards_import(tmp_path, stage, source, expected):
    module = tmp_path / "services" / stage / "module.py"
    module.parent.mkdir(parents=True)
    module.write_text(source)
    found = stage_violations(tmp_path) + layer_violations(tmp_path)
    if expected is None:
        assert any("imports streamlit" in f for f in found)
    else:
        assert any(expected in f for f in found)
