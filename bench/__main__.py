"""Run every benchmark case, print a table and write bench/results.json."""

from __future__ import annotations

import json
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
    model_path,
    monitor_dashboards,
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
    rows: list[Measurement] = []
    for name, run in SUITES.items():
        if selected and name not in selected:
            continue
        print(f"running {name} …", flush=True)
        rows += run()
    print(_table(rows))
    RESULTS.write_text(
        json.dumps(
            {
                "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
                "results": [r.as_json() for r in rows],
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
