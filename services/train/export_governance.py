"""What each Training Sheet's source may be used for now, read once per export from Unity Catalog.

A pair's stored constraints are what held when it was generated or last edited; its source's
tags may have tightened since (a table tagged PHI after generation). An export binds both
(invariant 9): the dual gate over the stored columns, and per Training Sheet whether its
source's current tags permit the use. The tags are read once per Training Sheet here, in
Python, and bound into the gate SQL as the list of Training Sheets that may be used for each
use (services/train/gates.py), so one set-based statement gates every pair.

Governance fails closed: a source whose tags cannot be read (the sheet deleted, the table gone
or hidden, the catalog unreachable) permits nothing, and its pairs say why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from data_access.catalog.browser import CatalogBrowser, CatalogObjectNotFound
from services.core.domain.governance import UsageConstraints, Use
from services.core.domain.qa_pair import TrainingSheet
from services.core.errors import NotFoundError
from services.core.governance import tag_rule, tightened, unreadable_tags_rule
from services.core.workbench import Workbench
from services.data.sheets import SheetService


@dataclass(frozen=True)
class SourceRule:
    """One Training Sheet's source now: its table and what its current tags impose (None: nothing)."""

    training_sheet_id: str
    source: str
    rule: UsageConstraints | None

    def permits(self, use: str) -> bool:
        return self.rule is None or self.rule.permits(use)


@dataclass(frozen=True)
class ExportGovernance:
    """The current source rules of the Training Sheets of one export, by Training Sheet id."""

    rules: Mapping[str, SourceRule] = field(default_factory=dict)

    def sheets_permitting(self, use: str) -> list[str]:
        """The Training Sheets whose source's current tags permit `use` (bound into the gate SQL)."""
        return sorted(sheet for sheet, rule in self.rules.items() if rule.permits(use))

    def effective(self, training_sheet_id: str, stored: UsageConstraints) -> UsageConstraints:
        """A pair's stored constraints under its source's current rule; a Training Sheet this
        export did not read counts as unreadable."""
        found = self.rules.get(training_sheet_id)
        rule = found.rule if found is not None else unreadable_tags_rule("this Training Sheet's source", "not read for this export")
        return tightened(stored, rule)

    def params(self, training_param: str, validation_param: str) -> dict[str, list[str]]:
        return {
            f"{training_param}_sheets": self.sheets_permitting(Use.TRAINING),
            f"{validation_param}_sheets": self.sheets_permitting(Use.VALIDATION),
        }


def current_governance(workbench: Workbench, training_sheets: Iterable[TrainingSheet]) -> ExportGovernance:
    """Each Training Sheet's source rule from its sheet's primary table's tags as they are now."""
    sheets = SheetService(workbench)
    catalog = workbench.backend.catalog
    rules: dict[str, SourceRule] = {}
    tags_by_table: dict[str, SourceRule] = {}
    for training_sheet in training_sheets:
        try:
            table = sheets.get(training_sheet.sheet_id).primary_table
        except NotFoundError:
            rules[training_sheet.id] = SourceRule(
                training_sheet.id, training_sheet.sheet_id, unreadable_tags_rule(f"sheet {training_sheet.sheet_id}", "the sheet no longer exists")
            )
            continue
        if table not in tags_by_table:
            tags_by_table[table] = _table_rule(catalog, table)
        rules[training_sheet.id] = SourceRule(training_sheet.id, table, tags_by_table[table].rule)
    return ExportGovernance(rules)


def _table_rule(catalog: CatalogBrowser, table: str) -> SourceRule:
    try:
        tags = catalog.get_table(table).tags
    except CatalogObjectNotFound as error:
        return SourceRule("", table, unreadable_tags_rule(table, str(error)))
    except Exception as error:  # any failure to read the tags fails closed, in the catalog's words
        return SourceRule("", table, unreadable_tags_rule(table, f"{type(error).__name__}: {error}"))
    return SourceRule("", table, tag_rule(tags))
