"""The demo data: generated once into an empty embedded store, the same bytes for the same seed.

The demo is the ordered list of seed steps in `services/demo/steps.py`. Later parts of the
demo (templates, canonical labels, training sheets) join by adding a step there; a step gets a
`DemoContext` with its own seeded random generators, so adding one never changes what the
others produce. Reset clears the steps in reverse order (dependents first) and runs them again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from data_access.settings import Settings
from services.core.errors import ValidationError
from services.core.workbench import Workbench, open_workbench
from services.data.sheets import SheetService
from services.demo.context import ONLY_EMBEDDED, DemoContext, SeedStep


@dataclass(frozen=True)
class StepTiming:
    step: str
    seconds: float


@dataclass(frozen=True)
class DemoSummary:
    """What a generation wrote: counts by name (`invoices`, `crystal_images`, …) and its timings."""

    seed: int
    counts: Mapping[str, int] = field(default_factory=dict)
    timings: tuple[StepTiming, ...] = ()

    @property
    def seconds(self) -> float:
        return sum(t.seconds for t in self.timings)

    def count(self, name: str) -> int:
        return self.counts.get(name, 0)

    def lines(self) -> list[str]:
        counts = ", ".join(f"{name.replace('_', ' ')} {value:,}" for name, value in self.counts.items())
        steps = ", ".join(f"{t.step} {t.seconds:.1f}s" for t in self.timings)
        return [f"Demo data (seed {self.seed}): {counts}.", f"Took {self.seconds:.1f}s ({steps})."]


@dataclass(frozen=True)
class SeedProgress:
    """A seed step starting (`seconds` None) or done (its time and what it wrote)."""

    step: str
    index: int  # 1-based, of `total`
    total: int
    seconds: float | None = None
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return self.step.replace("_", " ").capitalize()


StepListener = Callable[[SeedProgress], None]

# Two first sessions arriving together must not both seed an empty store.
_seed_lock = threading.Lock()
# Stores known to have their data, so a page run asks the store once per process, not per run.
_ready_homes: set[str] = set()


def open_demo_ready_workbench(settings: Settings | None = None, headers: Mapping[str, str] | None = None) -> Workbench:
    """Open the workbench as the app does: an empty embedded store with demo data on gets the
    demo first (a store that has any sheet costs one count query)."""
    workbench = open_workbench(settings, headers)
    prepare_demo(workbench)
    return workbench


def demo_pending(workbench: Workbench) -> bool:
    """Whether this workbench's store still needs the demo: demo data on, embedded, no sheet yet."""
    settings = workbench.settings
    if not settings.load_demo_data or settings.is_databricks:
        return False
    home = str(settings.home.resolve())
    if home in _ready_homes:
        return False
    if _seed_lock.locked():  # being built right now: its first sheets are there, the rest not yet
        return True
    if SheetService(workbench).count() > 0:
        _ready_homes.add(home)
        return False
    return True


def prepare_demo(workbench: Workbench, on_step: StepListener | None = None) -> DemoSummary | None:
    """Generate the demo if the store still needs it, one caller at a time; `on_step` hears each
    step start and end (the app shows them on a first start)."""
    with _seed_lock:
        if not demo_pending(workbench):
            return None
        summary = ensure_demo_data(workbench, on_step)
        _ready_homes.add(str(workbench.settings.home.resolve()))
        return summary


def ensure_demo_data(workbench: Workbench, on_step: StepListener | None = None) -> DemoSummary | None:
    """Generate the demo into an empty store; a store with any sheet (demo or not) is left alone.

    Returns None when nothing was generated. `reset_demo_data` brings the demo back on demand.
    """
    _require_embedded(workbench)
    if SheetService(workbench).count() > 0:
        return None
    return _generate(DemoContext(workbench, workbench.settings.demo_seed), on_step)


def reset_demo_data(workbench: Workbench) -> DemoSummary:
    """Drop the demo's raw tables, volume files and workbench rows, then generate them again."""
    _require_embedded(workbench)
    context = DemoContext(workbench, workbench.settings.demo_seed)
    for step in reversed(seed_steps()):
        step.clear(context)
    return _generate(context)


def seed_steps() -> tuple[SeedStep, ...]:
    # The steps import PyMuPDF and Pillow (about 2 s); every app start calls ensure_demo_data,
    # and only a store that gets the demo should pay for them.
    from services.demo.steps import SEED_STEPS

    return SEED_STEPS


def _generate(context: DemoContext, on_step: StepListener | None = None) -> DemoSummary:
    counts: dict[str, int] = {}
    timings = []
    steps = seed_steps()
    tell = on_step or (lambda _progress: None)
    for index, step in enumerate(steps, start=1):
        tell(SeedProgress(step.name, index, len(steps)))
        started = time.perf_counter()
        written = step.run(context)
        counts.update(written)
        timings.append(StepTiming(step.name, time.perf_counter() - started))
        tell(SeedProgress(step.name, index, len(steps), timings[-1].seconds, dict(written)))
    return DemoSummary(context.seed, counts, tuple(timings))


def _require_embedded(workbench: Workbench) -> None:
    if workbench.settings.is_databricks:
        raise ValidationError(ONLY_EMBEDDED)


__all__ = [
    "DemoSummary",
    "SeedProgress",
    "StepListener",
    "StepTiming",
    "demo_pending",
    "ensure_demo_data",
    "open_demo_ready_workbench",
    "prepare_demo",
    "reset_demo_data",
    "seed_steps",
]
