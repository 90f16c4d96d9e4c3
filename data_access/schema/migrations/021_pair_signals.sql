-- LABEL: signals beside each pair, never decisions. One row per pair and kind (pii, duplicate,
-- quality) with its reason in words, its details as JSON, and the hash of the pair's messages it
-- was computed for: a pair whose prompt or response changed since reads as stale and is
-- computed again. pair_version is the pair's row_version then: while it holds, the signal is
-- current without hashing the messages again (most pairs, most of the time). A duplicate row names its group (connected components of near-duplicates).
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.pair_signals (
  pair_id STRING NOT NULL,
  training_sheet_id STRING NOT NULL,
  kind STRING NOT NULL,
  content_hash STRING NOT NULL,
  pair_version INT,
  flagged BOOLEAN NOT NULL,
  score DOUBLE,
  reason STRING,
  details STRING,
  group_id STRING,
  source STRING,
  computed_at TIMESTAMP,
  CONSTRAINT pair_signals_pk PRIMARY KEY (pair_id, kind)
);

-- Embeddings stored once per text and model, reused by duplicates, quality and retrieval.
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.text_embeddings (
  text_hash STRING NOT NULL,
  model STRING NOT NULL,
  vector ARRAY<FLOAT> NOT NULL,
  created_at TIMESTAMP,
  CONSTRAINT text_embeddings_pk PRIMARY KEY (text_hash, model)
);
