-- Generated from the scenario spec (tools/world/generate); names mapped in mapping.json.

CREATE TABLE api_events (
  event_time DateTime64(3, 'UTC'),
  merchant_id LowCardinality(String),
  api_key_hash LowCardinality(String),
  method LowCardinality(String),
  route LowCardinality(String),
  http_status UInt16,
  error_type LowCardinality(String),
  duration_ms Float32,
  request_id String,
  trace_id String,
  region LowCardinality(String),
  user_agent LowCardinality(String),
  request_headers String,
  response_headers String
)
ENGINE=MergeTree
ORDER BY (merchant_id, event_time);

CREATE TABLE event_deliveries (
  event_time DateTime64(3, 'UTC'),
  merchant_id LowCardinality(String),
  delivery_id String,
  webhook_id LowCardinality(String),
  event_type LowCardinality(String),
  target_url LowCardinality(String),
  attempt UInt8,
  http_code UInt16,
  elapsed_ms Float32,
  failure_reason LowCardinality(String)
)
ENGINE=MergeTree
ORDER BY (merchant_id, event_time);

CREATE TABLE sso_audit (
  event_time DateTime64(3, 'UTC'),
  merchant_id LowCardinality(String),
  user_email String,
  idp_entity_id LowCardinality(String),
  result LowCardinality(String),
  reason String,
  clock_skew_s Int32,
  cert_sha1 LowCardinality(String),
  acs_url LowCardinality(String),
  audience LowCardinality(String),
  nameid_format LowCardinality(String),
  sig_alg LowCardinality(String)
)
ENGINE=MergeTree
ORDER BY (merchant_id, event_time);
