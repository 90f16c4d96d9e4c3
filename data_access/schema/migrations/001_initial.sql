-- VITAL Workbench schema, version 1. Databricks SQL; transpiled for the embedded store.
-- ${catalog}.${schema} is substituted from settings (checked plain identifiers).
-- JSON documents (label_data, messages, configs) are STRING columns holding JSON text:
-- it round-trips identically through Delta and DuckDB, and get_json_object reads it on both.
-- Every mutable row carries row_version for optimistic concurrency (DESIGN invariant 7).

CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.sheets (
  id STRING NOT NULL,
  name STRING NOT NULL,
  description STRING,
  primary_table STRING NOT NULL,
  item_ref_column STRING NOT NULL,
  secondary_sources STRING,
  join_keys ARRAY<STRING>,
  filter_condition STRING,
  sample_size INT,
  row_count BIGINT,
  created_by STRING,
  created_at TIMESTAMP,
  updated_by STRING,
  updated_at TIMESTAMP,
  row_version INT NOT NULL,
  CONSTRAINT sheets_pk PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.templates (
  id STRING NOT NULL,
  family_id STRING NOT NULL,
  name STRING NOT NULL,
  description STRING,
  version STRING NOT NULL,
  status STRING NOT NULL,
  label_type STRING NOT NULL,
  system_prompt STRING,
  user_prompt_template STRING,
  input_schema STRING,
  output_schema STRING,
  base_model STRING,
  temperature DOUBLE,
  max_tokens INT,
  examples STRING,
  source_sheet_id STRING,
  source_catalog STRING,
  source_schema STRING,
  source_table STRING,
  source_volume STRING,
  created_by STRING,
  created_at TIMESTAMP,
  updated_by STRING,
  updated_at TIMESTAMP,
  published_at TIMESTAMP,
  row_version INT NOT NULL,
  CONSTRAINT templates_pk PRIMARY KEY (id)
);

-- One row per (sheet_id, item_ref, label_type); the warehouse does not enforce UNIQUE, so
-- every write is a MERGE on that key (DESIGN invariant 1).
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.canonical_labels (
  id STRING NOT NULL,
  sheet_id STRING NOT NULL,
  item_ref STRING NOT NULL,
  label_type STRING NOT NULL,
  label_data STRING,
  confidence STRING,
  notes STRING,
  allowed_uses ARRAY<STRING>,
  prohibited_uses ARRAY<STRING>,
  usage_reason STRING,
  data_classification STRING,
  labeled_by STRING,
  labeled_at TIMESTAMP,
  last_modified_by STRING,
  last_modified_at TIMESTAMP,
  version INT NOT NULL,
  created_at TIMESTAMP,
  CONSTRAINT canonical_labels_pk PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.canonical_label_versions (
  id STRING NOT NULL,
  canonical_label_id STRING NOT NULL,
  version INT NOT NULL,
  sheet_id STRING NOT NULL,
  item_ref STRING NOT NULL,
  label_type STRING NOT NULL,
  label_data STRING,
  confidence STRING,
  notes STRING,
  allowed_uses ARRAY<STRING>,
  prohibited_uses ARRAY<STRING>,
  usage_reason STRING,
  data_classification STRING,
  change_kind STRING,
  source_qa_pair_id STRING,
  modified_by STRING,
  modified_at TIMESTAMP,
  CONSTRAINT canonical_label_versions_pk PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.training_sheets (
  id STRING NOT NULL,
  name STRING NOT NULL,
  sheet_id STRING NOT NULL,
  template_id STRING NOT NULL,
  template_version STRING,
  label_type STRING,
  labeling_mode STRING NOT NULL,
  status STRING NOT NULL,
  total_pairs INT,
  unlabeled_pairs INT,
  labeled_pairs INT,
  rejected_pairs INT,
  flagged_pairs INT,
  canonical_pairs INT,
  generation_config STRING,
  generation_started_at TIMESTAMP,
  generation_completed_at TIMESTAMP,
  job_id STRING,
  created_by STRING,
  created_at TIMESTAMP,
  updated_at TIMESTAMP,
  row_version INT NOT NULL,
  CONSTRAINT training_sheets_pk PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.qa_pairs (
  id STRING NOT NULL,
  training_sheet_id STRING NOT NULL,
  sheet_id STRING NOT NULL,
  item_ref STRING NOT NULL,
  ordinal INT NOT NULL,
  label_type STRING,
  messages STRING,
  original_response STRING,
  media_refs ARRAY<STRING>,
  canonical_label_id STRING,
  status STRING NOT NULL,
  labeling_mode STRING NOT NULL,
  allowed_uses ARRAY<STRING>,
  prohibited_uses ARRAY<STRING>,
  usage_reason STRING,
  data_classification STRING,
  ai_confidence DOUBLE,
  quality_score DOUBLE,
  generation_error STRING,
  prompt_tokens INT,
  completion_tokens INT,
  latency_ms DOUBLE,
  reviewed_by STRING,
  reviewed_at TIMESTAMP,
  review_notes STRING,
  created_at TIMESTAMP,
  updated_at TIMESTAMP,
  row_version INT NOT NULL,
  CONSTRAINT qa_pairs_pk PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.usage_constraint_audit (
  id STRING NOT NULL,
  qa_pair_id STRING,
  canonical_label_id STRING,
  old_allowed_uses ARRAY<STRING>,
  new_allowed_uses ARRAY<STRING>,
  old_prohibited_uses ARRAY<STRING>,
  new_prohibited_uses ARRAY<STRING>,
  old_data_classification STRING,
  new_data_classification STRING,
  reason STRING,
  modified_by STRING,
  modified_at TIMESTAMP,
  CONSTRAINT usage_constraint_audit_pk PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.review_events (
  id STRING NOT NULL,
  training_sheet_id STRING NOT NULL,
  qa_pair_id STRING,
  action STRING NOT NULL,
  bulk_filter STRING,
  affected_count INT,
  previous_state STRING,
  new_status STRING,
  note STRING,
  actor STRING,
  created_at TIMESTAMP,
  undone_at TIMESTAMP,
  CONSTRAINT review_events_pk PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.example_store (
  example_id STRING NOT NULL,
  input STRING,
  expected_output STRING,
  explanation STRING,
  search_keys ARRAY<STRING>,
  embedding ARRAY<FLOAT>,
  embedding_model STRING,
  function_name STRING,
  domain STRING,
  quality_score DOUBLE,
  usage_count BIGINT,
  effectiveness_score DOUBLE,
  source_qa_pair_id STRING,
  training_sheet_id STRING,
  created_by STRING,
  created_at TIMESTAMP,
  updated_at TIMESTAMP,
  CONSTRAINT example_store_pk PRIMARY KEY (example_id)
);

CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.model_training_lineage (
  id STRING NOT NULL,
  model_id STRING,
  model_name STRING,
  model_version STRING,
  training_sheet_id STRING NOT NULL,
  training_sheet_version STRING,
  qa_pair_ids ARRAY<STRING>,
  train_pair_ids ARRAY<STRING>,
  val_pair_ids ARRAY<STRING>,
  train_pair_count INT,
  val_pair_count INT,
  training_config STRING,
  metrics STRING,
  mlflow_run_id STRING,
  fmapi_job_id STRING,
  job_id STRING,
  status STRING,
  trained_at TIMESTAMP,
  created_by STRING,
  CONSTRAINT model_training_lineage_pk PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.dspy_runs (
  run_id STRING NOT NULL,
  training_sheet_id STRING,
  template_id STRING,
  optimizer_type STRING,
  metric_function STRING,
  config STRING,
  status STRING,
  best_metric_value DOUBLE,
  baseline_metric_value DOUBLE,
  results STRING,
  mlflow_run_id STRING,
  job_id STRING,
  created_by STRING,
  started_at TIMESTAMP,
  completed_at TIMESTAMP,
  CONSTRAINT dspy_runs_pk PRIMARY KEY (run_id)
);

CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.job_runs (
  id STRING NOT NULL,
  job_type STRING NOT NULL,
  training_sheet_id STRING,
  target_id STRING,
  status STRING NOT NULL,
  progress DOUBLE,
  processed_items INT,
  total_items INT,
  params STRING,
  result STRING,
  error STRING,
  cancel_requested BOOLEAN,
  created_by STRING,
  heartbeat_at TIMESTAMP,
  started_at TIMESTAMP,
  completed_at TIMESTAMP,
  CONSTRAINT job_runs_pk PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.deployments (
  id STRING NOT NULL,
  model_name STRING NOT NULL,
  model_version STRING,
  endpoint_name STRING,
  target STRING,
  status STRING,
  config STRING,
  training_sheet_id STRING,
  mlflow_run_id STRING,
  created_by STRING,
  created_at TIMESTAMP,
  updated_at TIMESTAMP,
  row_version INT NOT NULL,
  CONSTRAINT deployments_pk PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.inference_log (
  id STRING NOT NULL,
  deployment_id STRING,
  endpoint_name STRING,
  request_id STRING,
  request STRING,
  response STRING,
  prediction STRING,
  confidence DOUBLE,
  latency_ms DOUBLE,
  status_code INT,
  input_tokens INT,
  output_tokens INT,
  created_at TIMESTAMP,
  CONSTRAINT inference_log_pk PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.feedback (
  id STRING NOT NULL,
  model_id STRING,
  deployment_id STRING,
  endpoint_name STRING,
  request_id STRING,
  trace_id STRING,
  feedback_type STRING,
  feedback_value STRING,
  correction STRING,
  status STRING,
  training_sheet_id STRING,
  qa_pair_id STRING,
  created_by STRING,
  created_at TIMESTAMP,
  CONSTRAINT feedback_pk PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.alerts (
  id STRING NOT NULL,
  deployment_id STRING,
  alert_type STRING,
  severity STRING,
  metric STRING,
  threshold DOUBLE,
  observed DOUBLE,
  message STRING,
  status STRING,
  created_at TIMESTAMP,
  resolved_at TIMESTAMP,
  CONSTRAINT alerts_pk PRIMARY KEY (id)
);
