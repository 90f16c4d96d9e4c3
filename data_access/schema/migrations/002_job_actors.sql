-- Who cancelled or resumed a job, when that was someone other than whoever started it.
ALTER TABLE ${catalog}.${schema}.job_runs ADD COLUMN cancelled_by STRING;
ALTER TABLE ${catalog}.${schema}.job_runs ADD COLUMN resumed_by STRING;
ALTER TABLE ${catalog}.${schema}.job_runs ADD COLUMN resumed_at TIMESTAMP;
