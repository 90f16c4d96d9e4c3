"""`python -m services.demo.cli [--reset]`: generate the demo data into the embedded store.

Without `--reset` it fills an empty store and leaves a used one alone (and does nothing on
Databricks or with demo data off: `make run` calls it before every start); with `--reset` it
removes the demo's tables, files and sheets and generates them again. The app must not be
running on the same store: DuckDB lets only one process open it.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from data_access.settings import load_settings
from services.core.errors import UnavailableError, WorkbenchError
from services.core.workbench import open_workbench
from services.demo import ensure_demo_data, reset_demo_data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.demo.cli", description=__doc__.splitlines()[0])
    parser.add_argument("--reset", action="store_true", help="drop the demo data and generate it again")
    args = parser.parse_args(argv)
    configured = load_settings()
    if not args.reset and (configured.is_databricks or not configured.load_demo_data):
        # `make run` calls this before every start; a workspace or a store without demo data
        # gets nothing generated and starts as it is.
        print("Demo data is off for this configuration; nothing generated.")
        return 0
    # Opening must not seed on its own: this command decides what to generate.
    settings = replace(configured, load_demo_data=False)
    try:
        workbench = open_workbench(settings)
    except UnavailableError as error:  # held by the running app, or not writable: the message says what to do
        print(error, file=sys.stderr)
        return 1
    except Exception as error:  # any other failure to open is reported the same way
        print(f"Could not open the store at {settings.home.resolve()}: {error}", file=sys.stderr)
        print("If the app is running on this store, stop it first (DuckDB allows one process).", file=sys.stderr)
        return 1
    try:
        summary = reset_demo_data(workbench) if args.reset else ensure_demo_data(workbench)
    except WorkbenchError as error:
        print(str(error), file=sys.stderr)
        return 1
    if summary is None:
        print(f"The store at {settings.home.resolve()} already has sheets; nothing generated. Use --reset.")
        return 0
    for line in summary.lines():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
