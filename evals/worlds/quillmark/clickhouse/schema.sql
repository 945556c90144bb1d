-- Generated from the scenario spec (tools/world/generate); names mapped in mapping.json.

CREATE TABLE gateway_log (
  ts DateTime64(3, 'UTC'),
  tenant_key LowCardinality(String),
  api_key_hash LowCardinality(String),
  method LowCardinality(String),
  uri LowCardinality(String),
  resp_code UInt16,
  fault LowCardinality(String),
  took_ms Float32,
  request_id String,
  trace_id String,
  region LowCardinality(String),
  user_agent LowCardinality(String),
  request_headers String,
  response_headers String
)
ENGINE=MergeTree
ORDER BY (tenant_key, ts);

CREATE TABLE connect_attempts (
  sent_at DateTime64(3, 'UTC'),
  tenant_key LowCardinality(String),
  delivery_id String,
  webhook_id LowCardinality(String),
  event_type LowCardinality(String),
  listener LowCardinality(String),
  attempt UInt8,
  listener_code UInt16,
  rtt_ms Float32,
  failure LowCardinality(String)
)
ENGINE=MergeTree
ORDER BY (tenant_key, sent_at);

CREATE TABLE saml_events (
  occurred_at DateTime64(3, 'UTC'),
  tenant_key LowCardinality(String),
  user_email String,
  idp_entity_id LowCardinality(String),
  outcome LowCardinality(String),
  detail String,
  clock_skew_s Int32,
  cert_sha1 LowCardinality(String),
  acs_url LowCardinality(String),
  audience LowCardinality(String),
  nameid_format LowCardinality(String),
  sig_alg LowCardinality(String)
)
ENGINE=MergeTree
ORDER BY (tenant_key, occurred_at);
