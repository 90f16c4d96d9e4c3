-- MONITOR: a request that came from a sheet item (the Playground's "an item of the model's
-- sheet") names it, so the inference log can show its source, find its canonical label as
-- ground truth, and compare its input fields with the training set's.
-- One column per ALTER: DuckDB takes ADD COLUMN one at a time; Databricks takes both forms.
ALTER TABLE ${catalog}.${schema}.inference_log ADD COLUMN sheet_id STRING;
ALTER TABLE ${catalog}.${schema}.inference_log ADD COLUMN item_ref STRING;
