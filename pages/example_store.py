"""Example Store: governed few-shot examples, found by meaning. Synced examples pass the few-shot
gate at sync and again at every retrieval."""

import streamlit as st

from components import breadcrumb, source_preview
from components.example_store import effectiveness, example_form, example_grid, reports
from components.feedback import flash, show_flash, shown_errors
from components.session import workbench
from services.example_store.examples import MAX_K, ExampleStore

wb = workbench()
store = ExampleStore(wb)
domains, functions = store.facets()

breadcrumb.show()
st.title("Example Store")
st.caption(f"{store.count():,} example(s) · retrieval by {store.embedder.name}"
           + ("" if store.embedder.is_semantic else f" (shared words, not meaning: {store.embedder.fallback_reason})"))
show_flash()

search_tab, browse_tab, add_tab, sync_tab, effect_tab = st.tabs(
    ["Search", "Browse", "Add or upload", "Sync from a Training Sheet", "Effectiveness"])
with search_tab:
    query = st.text_input("Query", key="search_query", placeholder="What the model is asked")
    k, threshold = st.columns(2)
    top_k = k.number_input("Examples (k)", 1, MAX_K, 5, key="search_k")
    min_score = threshold.slider("Score at least", -1.0, 1.0, 0.0, 0.05, key="search_threshold")
    search_filters = example_grid.filters(domains, functions, key="search_filters")
    if st.button("Search", key="search_go", type="primary", disabled=not query.strip()):
        with shown_errors():
            reports.search_results(store.search(query, int(top_k), min_score, search_filters))

with browse_tab:
    picked = example_grid.show(store.browse(example_grid.filters(domains, functions)))
    if picked and st.button(f"Prune {len(picked)} selected", key="prune_selected"):
        flash(f"Pruned {store.prune(picked)} example(s).")
        st.rerun()
    if (example_id := example_grid.selected()) and (example := next(iter(store.browse_ids([example_id])), None)):
        st.subheader("Example")
        source = store.source(example)
        reports.details(example, source)
        if source is not None:
            source_preview.attached(wb, source.media_refs)
        editing = st.toggle("Edit", key=f"edit_{example.example_id}")
        if editing and (draft := example_form.show(f"edit_{example.example_id}", example.draft, "Save")) is not None:
            with shown_errors():
                store.update(example.example_id, draft)
                flash("Saved the example; it is found by its new meaning now.")
                st.rerun()
        if st.button("Prune this example", key="prune_one"):
            store.prune([example.example_id])
            example_grid.select(None)
            flash("Pruned the example.")
            st.rerun()

with add_tab:
    if (draft := example_form.show("new_example")) is not None:
        with shown_errors():
            example_grid.select(store.add(draft).example_id)
            flash("Added the example; it is searchable now.")
            st.rerun()
    upload = st.file_uploader("Upload examples (CSV or JSONL: input, expected_output, and optionally explanation, "
                              "search_keys, function_name, domain, quality_score)", type=["csv", "jsonl"], key="upload")
    if upload is not None and st.button("Add the file's examples", key="upload_go"):
        with shown_errors():
            reports.upload_report(store.upload(upload.name, upload.getvalue()))

with sync_tab:
    sheets = store.training_sheets()
    st.caption("Only pairs approved (labeled) and allowed, not prohibited, for few-shot use are synced; "
               "a re-sync removes examples whose pair lost that, and says which.")
    chosen = st.selectbox("Training Sheet", sheets, key="sync_sheet", format_func=lambda s: f"{s.name} ({s.label_type})", index=None)
    if st.button("Sync", key="sync_go", type="primary", disabled=chosen is None):
        with shown_errors():
            reports.sync_report(store.sync(chosen.id))

with effect_tab:
    effectiveness.measure(wb, store)
    measured = store.measured()
    effectiveness.chart(measured)
    effectiveness.prune_suggestions(store, measured)
