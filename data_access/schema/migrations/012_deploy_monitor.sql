-- DEPLOY and MONITOR: what an endpoint needs to serve and what the inference log records.
-- One column per ALTER: DuckDB takes ADD COLUMN one at a time; Databricks takes both forms.

-- A deployment names the registered model (model_id = name/version, as the lineage has it),
-- the template whose output schema its guardrail checks, the token limit it enforces, and why
-- it failed when it did.
ALTER TABLE ${catalog}.${schema}.deployments ADD COLUMN model_id STRING;
ALTER TABLE ${catalog}.${schema}.deployments ADD COLUMN lineage_id STRING;
ALTER TABLE ${catalog}.${schema}.deployments ADD COLUMN template_id STRING;
ALTER TABLE ${catalog}.${schema}.deployments ADD COLUMN max_tokens INT;
ALTER TABLE ${catalog}.${schema}.deployments ADD COLUMN schema_guardrail BOOLEAN;
ALTER TABLE ${catalog}.${schema}.deployments ADD COLUMN error STRING;

-- Each request to a local endpoint: which model version answered, who asked, its trace, the
-- guardrails' results (a JSON list of {name, passed, detail}), where it came from (api,
-- playground) and whether it was replayed demo traffic.
ALTER TABLE ${catalog}.${schema}.inference_log ADD COLUMN model_name STRING;
ALTER TABLE ${catalog}.${schema}.inference_log ADD COLUMN model_version STRING;
ALTER TABLE ${catalog}.${schema}.inference_log ADD COLUMN requester STRING;
ALTER TABLE ${catalog}.${schema}.inference_log ADD COLUMN trace_id STRING;
ALTER TABLE ${catalog}.${schema}.inference_log ADD COLUMN guardrails STRING;
ALTER TABLE ${catalog}.${schema}.inference_log ADD COLUMN guardrails_passed BOOLEAN;
ALTER TABLE ${catalog}.${schema}.inference_log ADD COLUMN error STRING;
ALTER TABLE ${catalog}.${schema}.inference_log ADD COLUMN source STRING;
ALTER TABLE ${catalog}.${schema}.inference_log ADD COLUMN replayed BOOLEAN;
