-- IMPROVE's trace to training data: the prompt of each pair a model version trained on, embedded
-- once per version (its lineage row) and embedding model, so finding the training pairs like a
-- feedback item is a search over stored vectors, not a re-embedding of the training set.
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.training_pair_embeddings (
  lineage_id STRING NOT NULL,
  qa_pair_id STRING NOT NULL,
  embedding_model STRING NOT NULL,
  embedding ARRAY<FLOAT>,
  created_at TIMESTAMP,
  CONSTRAINT training_pair_embeddings_pk PRIMARY KEY (lineage_id, qa_pair_id, embedding_model)
);
