-- Generated from the scenario spec (tools/world/generate); names mapped in mapping.json.

CREATE TABLE http_requests (
  timestamp DateTime64(3, 'UTC'),
  org_id LowCardinality(String),
  api_key_hash LowCardinality(String),
  method LowCardinality(String),
  endpoint LowCardinality(String),
  status_code UInt16,
  err LowCardinality(String),
  elapsed_ms Float32,
  request_id String,
  trace_id String,
  region LowCardinality(String),
  user_agent LowCardinality(String),
  request_headers String,
  response_headers String
)
ENGINE=MergeTree
ORDER BY (org_id, timestamp);

CREATE TABLE callback_attempts (
  timestamp DateTime64(3, 'UTC'),
  org_id LowCardinality(String),
  delivery_id String,
  webhook_id LowCardinality(String),
  event_type LowCardinality(String),
  url LowCardinality(String),
  attempt UInt8,
  http_code UInt16,
  duration Float32,
  error_kind LowCardinality(String)
)
ENGINE=MergeTree
ORDER BY (org_id, timestamp);

CREATE TABLE login_events (
  timestamp DateTime64(3, 'UTC'),
  org_id LowCardinality(String),
  user_email String,
  idp_entity_id LowCardinality(String),
  login_result LowCardinality(String),
  failure_message String,
  clock_skew_s Int32,
  cert_sha1 LowCardinality(String),
  acs_url LowCardinality(String),
  audience LowCardinality(String),
  nameid_format LowCardinality(String),
  sig_alg LowCardinality(String)
)
ENGINE=MergeTree
ORDER BY (org_id, timestamp);
