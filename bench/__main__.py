"""Run every benchmark case, print a table and write bench/results.json."""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench import (
    deploy_endpoint,
    drafter_calibration,
    dspy_optimizer,
    example_search,
    example_sync,
    foundation,
    generation,
    improve,
    label_signals,
    model_path,
    monitor_dashboards,
    ocr,
    review,
    template_rendering,
    train_export,
    train_finetune,
)
from bench.measure import Measurement

RESULTS = Path(__file__).resolve().parent / "results.json"
SUITES = {
    "foundation": foundation.run,
    "templates": template_rendering.run,
    "generation": generation.run,
    "drafter": drafter_calibration.run,
    "review": review.run,
    "models": model_path.run,
    "train_export": train_export.run,
    "train": train_finetune.run,
    "deploy": deploy_endpoint.run,
    "example_store": lambda: [*example_search.run(), *example_sync.run()],
    "dspy": dspy_optimizer.run,
    "monitor": monitor_dashboards.run,
    "improve": improve.run,
    "ocr": ocr.run,
    "label_signals": label_signals.run,
}


def _table(rows: list[Measurement]) -> str:
    header = ("Case", "Value", "Goal", "Met", "Floor (same run)", "Ratio", "Ratio goal", "Met", "Detail")
    cells = []
    for r in rows:
        head = (r.case, f"{r.value:g} {r.unit}", r.goal, "yes" if r.met else "NO")
        floors = r.floors or (None,)
        for i, f in enumerate(floors):
            left = head if i == 0 else ("", "", "", "")
            right = (f"{f.what}: {f.value:g} {r.unit}", f"{f.ratio:g}×", f.goal, "yes" if f.met else "NO") if f else ("", "", "", "")
            cells.append((*left, *right, r.detail if i == 0 else ""))
    widths = [max(len(str(c[i])) for c in [header, *cells]) for i in range(len(header))]
    line = lambda c: " | ".join(str(v).ljust(w) for v, w in zip(c, widths, strict=True))  # noqa: E731
    return "\n".join([line(header), "-+-".join("-" * w for w in widths), *map(line, cells)])


def main(selected: list[str]) -> int:
    unknown = sorted(set(selected) - set(SUITES))
    if unknown:
        print(f"no such suite: {', '.join(unknown)}; the suites are {', '.join(SUITES)}", file=sys.stderr)
        return 2
    measured_at = datetime.now(UTC).isoformat(timespec="seconds")
    fresh: list[dict[str, object]] = []
    rows: list[Measurement] = []
    for name, run in SUITES.items():
        if selected and name not in selected:
            continue
        print(f"running {name} …", flush=True)
        suite_rows = run()
        rows += suite_rows
        fresh += [{"suite": name, "measured_at": measured_at, **r.as_json()} for r in suite_rows]
    print(_table(rows))
    RESULTS.write_text(json.dumps(_results(fresh, kept=_kept_rows(set(selected))), indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")
    return 0


def _kept_rows(selected: set[str]) -> list[dict[str, object]]:
    """The other suites' rows of the last results, when only some suites ran: a partial run
    replaces its own suites' figures and keeps the rest, each row with the time it was taken."""
    if not selected or not RESULTS.exists():
        return []
    previous = json.loads(RESULTS.read_text())
    return [r for r in previous.get("results", []) if r.get("suite") in SUITES and r.get("suite") not in selected]


def _results(fresh: list[dict[str, object]], kept: list[dict[str, object]]) -> dict[str, object]:
    order = list(SUITES)
    rows = sorted(kept + fresh, key=lambda r: order.index(str(r["suite"])))
    return {
        "measured_at": max(str(r["measured_at"]) for r in rows) if rows else None,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "results": rows,
    }

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
