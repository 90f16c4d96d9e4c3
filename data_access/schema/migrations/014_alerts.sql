-- MONITOR alerts: the rules a person sets, and what each evaluation that crossed a threshold
-- opened (the `alerts` table of 001 holds the alert events) and where it was delivered.

-- A rule: a metric of one endpoint's traffic over a trailing window, compared with a threshold.
-- `row_version` guards edits (a stale edit is refused); a disabled rule is kept, not evaluated.
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.alert_rules (
  id STRING NOT NULL,
  name STRING,
  endpoint_name STRING,
  metric STRING,
  comparison STRING,
  threshold DOUBLE,
  window_minutes INT,
  webhook_url STRING,
  enabled BOOLEAN,
  created_by STRING,
  created_at TIMESTAMP,
  updated_by STRING,
  updated_at TIMESTAMP,
  row_version INT,
  CONSTRAINT alert_rules_pk PRIMARY KEY (id)
);

-- An alert event names its rule and endpoint; at most one per rule is open until it recovers.
ALTER TABLE ${catalog}.${schema}.alerts ADD COLUMN rule_id STRING;
ALTER TABLE ${catalog}.${schema}.alerts ADD COLUMN endpoint_name STRING;
ALTER TABLE ${catalog}.${schema}.alerts ADD COLUMN window_minutes INT;
ALTER TABLE ${catalog}.${schema}.alerts ADD COLUMN recovered_value DOUBLE;

-- Every webhook delivery of an event (when it opened, when it recovered): its outcome, the
-- attempts it took, the receiver's HTTP status and why it failed.
CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.alert_deliveries (
  id STRING NOT NULL,
  alert_id STRING,
  rule_id STRING,
  event STRING,
  url STRING,
  status STRING,
  attempts INT,
  http_status INT,
  error STRING,
  created_at TIMESTAMP,
  CONSTRAINT alert_deliveries_pk PRIMARY KEY (id)
);
