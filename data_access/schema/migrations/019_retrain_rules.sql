-- IMPROVE retrain: a model trained again on its Training Sheets once experts approved pairs made
-- from production feedback, with the previous run's configuration; by a person or by a rule.

-- A rule per registered model: start a retrain once `min_pairs` approved feedback-derived pairs
-- wait (labeled, passing the training gate, in none of the model's runs). A switched-off rule is
-- kept and not checked. The last check and the last retrain it started stay on the record.
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.retrain_rules (
  model_name STRING NOT NULL,
  min_pairs INT,
  enabled BOOLEAN,
  created_by STRING,
  created_at TIMESTAMP,
  updated_by STRING,
  updated_at TIMESTAMP,
  last_checked_at TIMESTAMP,
  last_waiting_pairs INT,
  last_check_note STRING,
  last_run_started_at TIMESTAMP,
  last_retrain_id STRING,
  CONSTRAINT retrain_rules_pk PRIMARY KEY (model_name)
);

-- A retrain started: its id is derived from the model and the feedback-derived pairs it was
-- started for, so the same pairs never start two retrains. It exports the model's Training
-- Sheets again (export_id), then starts the training run (lineage_id) with the previous run's
-- configuration. status: exporting | training | failed (the training run's own status follows).
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.retrains (
  id STRING NOT NULL,
  model_name STRING,
  previous_lineage_id STRING,
  feedback_pair_ids ARRAY<STRING>,
  feedback_ids ARRAY<STRING>,
  export_id STRING,
  lineage_id STRING,
  job_id STRING,
  status STRING,
  error STRING,
  started_by STRING,
  started_by_rule BOOLEAN,
  started_at TIMESTAMP,
  CONSTRAINT retrains_pk PRIMARY KEY (id)
);
