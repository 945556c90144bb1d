-- Derived from the demo's schema, the spec's table names and time zone Europe/Oslo.

CREATE TABLE api_access (
  logged_at DateTime64(3, 'Europe/Oslo'),
  workspace_id LowCardinality(String),
  api_key_hash LowCardinality(String),
  method LowCardinality(String),
  route_pattern LowCardinality(String),
  http_status_code UInt16,
  error_slug LowCardinality(String),
  handler_ms Float32,
  request_id String,
  trace_id String,
  region LowCardinality(String),
  user_agent LowCardinality(String),
  request_headers String,
  response_headers String
)
ENGINE=MergeTree
ORDER BY (workspace_id, logged_at);

CREATE TABLE event_pushes (
  pushed_at DateTime64(3, 'Europe/Oslo'),
  workspace_id LowCardinality(String),
  delivery_id String,
  webhook_id LowCardinality(String),
  event_type LowCardinality(String),
  receiver_url LowCardinality(String),
  attempt UInt8,
  hris_status UInt16,
  roundtrip_ms Float32,
  push_error LowCardinality(String)
)
ENGINE=MergeTree
ORDER BY (workspace_id, pushed_at);

CREATE TABLE saml_audit (
  asserted_at DateTime64(3, 'Europe/Oslo'),
  workspace_id LowCardinality(String),
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
ORDER BY (workspace_id, asserted_at);
