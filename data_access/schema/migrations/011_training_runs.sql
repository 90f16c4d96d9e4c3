-- Training runs: what the lineage of a fine-tuned model needs beyond version 1's columns,
-- the evaluation of each run (the base model beside the fine-tuned one), and the loss per
-- step that the TRAIN page draws while a run is going.
-- One column per ALTER: DuckDB takes ADD COLUMN one at a time; Databricks takes both forms.

-- A run may combine several Training Sheets (training_sheet_id keeps the first, for the
-- PRD's queries); export_id names the immutable export version, training_sheet_version its number.
ALTER TABLE ${catalog}.${schema}.model_training_lineage ADD COLUMN export_id STRING;
ALTER TABLE ${catalog}.${schema}.model_training_lineage ADD COLUMN training_sheet_ids ARRAY<STRING>;
ALTER TABLE ${catalog}.${schema}.model_training_lineage ADD COLUMN base_model STRING;
ALTER TABLE ${catalog}.${schema}.model_training_lineage ADD COLUMN eval_pair_ids ARRAY<STRING>;
ALTER TABLE ${catalog}.${schema}.model_training_lineage ADD COLUMN eval_pair_count INT;
ALTER TABLE ${catalog}.${schema}.model_training_lineage ADD COLUMN mlflow_experiment_id STRING;
ALTER TABLE ${catalog}.${schema}.model_training_lineage ADD COLUMN databricks_run_id STRING;
ALTER TABLE ${catalog}.${schema}.model_training_lineage ADD COLUMN error STRING;
ALTER TABLE ${catalog}.${schema}.model_training_lineage ADD COLUMN started_at TIMESTAMP;
ALTER TABLE ${catalog}.${schema}.model_training_lineage ADD COLUMN completed_at TIMESTAMP;

-- One row per evaluated model of a run: 'base' and 'fine_tuned' answer the same pairs.
-- model_id matches model_training_lineage.model_id for the fine-tuned row (the PRD's Query 4).
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.model_evaluations (
  id STRING NOT NULL,
  lineage_id STRING NOT NULL,
  model_id STRING,
  model_name STRING,
  model_version STRING,
  evaluated_model STRING NOT NULL,
  accuracy DOUBLE,
  f1_score DOUBLE,
  valid_output_rate DOUBLE,
  evaluation_pair_count INT,
  field_metrics STRING,
  answers STRING,
  mlflow_run_id STRING,
  evaluated_at TIMESTAMP,
  CONSTRAINT model_evaluations_pk PRIMARY KEY (id)
);

-- Append-only while a run trains; a resumed run starts its steps again.
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.training_steps (
  lineage_id STRING NOT NULL,
  step INT NOT NULL,
  total_steps INT,
  loss DOUBLE,
  tokens BIGINT,
  elapsed_s DOUBLE,
  recorded_at TIMESTAMP,
  CONSTRAINT training_steps_pk PRIMARY KEY (lineage_id, step)
);
