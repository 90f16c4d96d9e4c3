-- IMPROVE: a feedback row names the inference-log row it judges and the model version that
-- answered; where it came from (playground, monitor, api, low_confidence); a comment; and the
-- stale-write version an expert's triage carries. A pair made from feedback names it, so a
-- retrained model's lineage reaches the feedback through its pairs. An endpoint's threshold sends
-- its low-confidence predictions to the queue by themselves.
-- feedback_type: rating | correction | low_confidence; feedback_value: up | down (a rating);
-- status: open | added_to_training_sheet | label_updated | flagged | dismissed.
-- One column per ALTER: DuckDB takes ADD COLUMN one at a time; Databricks takes both forms.
ALTER TABLE ${catalog}.${schema}.feedback ADD COLUMN inference_log_id STRING;
ALTER TABLE ${catalog}.${schema}.feedback ADD COLUMN model_name STRING;
ALTER TABLE ${catalog}.${schema}.feedback ADD COLUMN model_version STRING;
ALTER TABLE ${catalog}.${schema}.feedback ADD COLUMN origin STRING;
ALTER TABLE ${catalog}.${schema}.feedback ADD COLUMN comment STRING;
ALTER TABLE ${catalog}.${schema}.feedback ADD COLUMN flag_note STRING;
ALTER TABLE ${catalog}.${schema}.feedback ADD COLUMN updated_by STRING;
ALTER TABLE ${catalog}.${schema}.feedback ADD COLUMN updated_at TIMESTAMP;
ALTER TABLE ${catalog}.${schema}.feedback ADD COLUMN version INT;
ALTER TABLE ${catalog}.${schema}.qa_pairs ADD COLUMN feedback_id STRING;
ALTER TABLE ${catalog}.${schema}.deployments ADD COLUMN low_confidence_threshold DOUBLE;
