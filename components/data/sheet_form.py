"""The form for creating or editing a sheet. Returns a draft when the person saves."""

from __future__ import annotations

import streamlit as st

from services.core.domain.sheet import SecondarySource, SheetDraft, SourceKind
from services.core.errors import WorkbenchError
from services.core.workbench import Workbench
from services.data import catalog_exploration as explore


def _index(options: list[str], value: str | None) -> int:
    return options.index(value) if value in options else 0


def _pick_table(wb: Workbench, key: str, initial: str) -> str | None:
    parts = initial.split(".") if initial.count(".") == 2 else [wb.settings.catalog, "raw", ""]
    left, middle, right = st.columns(3)
    catalogs = explore.catalogs(wb)
    catalog = left.selectbox("Catalog", catalogs, index=_index(catalogs, parts[0]), key=f"{key}_catalog")
    schemas = explore.schemas(wb, catalog) if catalog else []
    schema = middle.selectbox("Schema", schemas, index=_index(schemas, parts[1]), key=f"{key}_schema")
    tables = [t.name for t in explore.tables(wb, catalog, schema)] if schema else []
    table = right.selectbox("Primary table", tables, index=_index(tables, parts[2]), key=f"{key}_table")
    return f"{catalog}.{schema}.{table}" if table else None


def show(wb: Workbench, key: str, initial: SheetDraft | None = None, submit_label: str = "Save sheet") -> SheetDraft | None:
    initial = initial or SheetDraft(name="", primary_table="", item_ref_column="")
    name = st.text_input("Name", value=initial.name, key=f"{key}_name", max_chars=120)
    description = st.text_area("Description", value=initial.description, key=f"{key}_description", height=68)
    table = _pick_table(wb, key, initial.primary_table)
    if table is None:
        st.info("Choose a catalog, schema and table to point the sheet at.")
        return None
    catalog, schema, _ = table.split(".")
    try:
        columns = explore.table_columns(wb, table)
    except WorkbenchError as error:  # a table whose name a sheet cannot use, or one dropped meanwhile
        st.error(str(error), icon=":material/error:")
        return None
    item_column = st.selectbox(
        "Item column", columns, index=_index(columns, initial.item_ref_column), key=f"{key}_item",
        help="The column that identifies one item (an invoice, an image, a reading).",
    )
    volume_paths = sorted({v.path for v in explore.volumes(wb, catalog, schema)} | {s.path for s in initial.volume_sources})
    chosen_volumes = st.multiselect(
        "Volumes with the items' files", volume_paths, default=[s.path for s in initial.volume_sources],
        key=f"{key}_volumes", help="A file joins an item when its name without extension equals the join column's value.",
    )
    initial_key = initial.volume_sources[0].join_key if initial.volume_sources else item_column
    join_key = st.selectbox("Join files on column", columns, index=_index(columns, initial_key), key=f"{key}_join") if chosen_volumes else None
    filter_condition = st.text_input(
        "Filter (optional)", value=initial.filter_condition or "", key=f"{key}_filter",
        placeholder="total_amount > 100 AND provider_name LIKE '%Medical%'",
    )
    sample_size = st.number_input("Sample size (0 = all rows)", min_value=0, value=initial.sample_size or 0, step=50, key=f"{key}_sample")
    if not st.button(submit_label, type="primary", key=f"{key}_submit"):
        return None
    sources = tuple(SecondarySource(SourceKind.VOLUME, path, join_key or item_column) for path in chosen_volumes)
    return SheetDraft(
        name=name,
        primary_table=table,
        item_ref_column=item_column,
        description=description,
        secondary_sources=sources + initial.table_sources,
        filter_condition=filter_condition or None,
        sample_size=int(sample_size) or None,
    )
