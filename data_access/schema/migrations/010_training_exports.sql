-- TRAIN exports: immutable, numbered versions of one or more Training Sheets as chat JSONL.
-- A version row is written last, once its files are complete; neither table is ever updated.
-- `sheet_set_key` is the sorted Training Sheet ids joined by ','; versions count per set.
-- An exported pair's `position` is its place in the export's order (its line in its split's file,
-- before copies); `content_sha256` is the sha256 of that line.

CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.training_exports (
  id STRING NOT NULL,
  version INT NOT NULL,
  sheet_set_key STRING NOT NULL,
  training_sheet_ids ARRAY<STRING>,
  directory STRING NOT NULL,
  split_config STRING,
  gate_counts STRING,
  train_count INT,
  validation_count INT,
  train_lines INT,
  skipped_count INT,
  train_sha256 STRING,
  validation_sha256 STRING,
  manifest_sha256 STRING,
  job_id STRING,
  created_by STRING,
  created_at TIMESTAMP,
  CONSTRAINT training_exports_pk PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.training_export_pairs (
  export_id STRING NOT NULL,
  qa_pair_id STRING NOT NULL,
  training_sheet_id STRING NOT NULL,
  position INT NOT NULL,
  split STRING NOT NULL,
  content_sha256 STRING NOT NULL,
  copies INT NOT NULL
);
