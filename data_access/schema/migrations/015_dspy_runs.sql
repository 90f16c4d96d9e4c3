-- DSPy Optimizer: which model ran, what a person decided about the result, and the template
-- version an accepted run made (the version links back to the run).
-- One column per ALTER: DuckDB takes ADD COLUMN one at a time; Databricks takes both forms.
ALTER TABLE ${catalog}.${schema}.dspy_runs ADD COLUMN model STRING;
ALTER TABLE ${catalog}.${schema}.dspy_runs ADD COLUMN error STRING;
ALTER TABLE ${catalog}.${schema}.dspy_runs ADD COLUMN decision STRING;
ALTER TABLE ${catalog}.${schema}.dspy_runs ADD COLUMN decided_by STRING;
ALTER TABLE ${catalog}.${schema}.dspy_runs ADD COLUMN decided_at TIMESTAMP;
ALTER TABLE ${catalog}.${schema}.dspy_runs ADD COLUMN accepted_template_id STRING;
ALTER TABLE ${catalog}.${schema}.templates ADD COLUMN dspy_run_id STRING;
