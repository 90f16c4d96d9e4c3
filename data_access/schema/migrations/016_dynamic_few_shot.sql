-- Dynamic few-shot: a template may ask for k examples retrieved from the Example Store per item
-- (0: only its fixed examples), and what was generated or served records which examples the
-- model saw, so an answer can be traced to its demonstrations and their effectiveness measured.
-- One column per ALTER: DuckDB takes ADD COLUMN one at a time; Databricks takes both forms.
ALTER TABLE ${catalog}.${schema}.templates ADD COLUMN retrieved_examples_k INT;
ALTER TABLE ${catalog}.${schema}.qa_pairs ADD COLUMN few_shot_example_ids ARRAY<STRING>;
ALTER TABLE ${catalog}.${schema}.inference_log ADD COLUMN few_shot_example_ids ARRAY<STRING>;
