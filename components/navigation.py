"""The app's pages, declared as data: app.py routes from this list and the breadcrumb reads it.

Only built pages are listed; a stage appears here when its page does something real.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    path: str
    title: str
    icon: str
    section: str
    url_path: str
    stage: str | None = None  # the lifecycle stage this page is, for the breadcrumb


LIFECYCLE = "Lifecycle"
TOOLS = "Tools"

PAGES: tuple[PageSpec, ...] = (
    PageSpec("pages/home.py", "Home", ":material/home:", LIFECYCLE, "home"),
    PageSpec("pages/data.py", "Data", ":material/database:", LIFECYCLE, "data", stage="DATA"),
    PageSpec("pages/generate.py", "Generate", ":material/auto_awesome:", LIFECYCLE, "generate", stage="GENERATE"),
    PageSpec("pages/label.py", "Label", ":material/rate_review:", LIFECYCLE, "label", stage="LABEL"),
    PageSpec("pages/train.py", "Train", ":material/model_training:", LIFECYCLE, "train", stage="TRAIN"),
    PageSpec("pages/deploy.py", "Deploy", ":material/rocket_launch:", LIFECYCLE, "deploy", stage="DEPLOY"),
    PageSpec("pages/monitor.py", "Monitor", ":material/monitoring:", LIFECYCLE, "monitor", stage="MONITOR"),
    PageSpec("pages/improve.py", "Improve", ":material/autorenew:", LIFECYCLE, "improve", stage="IMPROVE"),
    PageSpec("pages/templates.py", "Prompt Templates", ":material/description:", TOOLS, "templates"),
    PageSpec("pages/example_store.py", "Example Store", ":material/library_books:", TOOLS, "example-store"),
    PageSpec("pages/dspy_optimizer.py", "DSPy Optimizer", ":material/tune:", TOOLS, "dspy-optimizer"),
    PageSpec("pages/canonical_labeling.py", "Canonical Labeling Tool", ":material/verified:", TOOLS, "canonical-labels"),
)

STAGE_ORDER = ("DATA", "GENERATE", "LABEL", "TRAIN", "DEPLOY", "MONITOR", "IMPROVE")


def page_for_stage(stage: str) -> PageSpec | None:
    return next((p for p in PAGES if p.stage == stage), None)


def built_page(url_path: str) -> PageSpec | None:
    """The page at a URL path, if this build has it (links to pages not built are not shown)."""
    return next((p for p in PAGES if p.url_path == url_path), None)
