-- Demo world log tables. No database prefix: the world loader creates them in the world's own database.

CREATE TABLE requests (
    ts DateTime64(3, 'UTC'),
    account_id LowCardinality(String),
    api_key_hash LowCardinality(String),
    method LowCardinality(String),
    path LowCardinality(String) /* route template, e.g. /v2/shipments */,
    status UInt16,
    error_code LowCardinality(String) /* '' when none */,
    latency_ms Float32,
    request_id String,
    trace_id String,
    region LowCardinality(String),
    user_agent LowCardinality(String),
    request_headers String /* JSON object, redacted */,
    response_headers String /* JSON object */
) ENGINE = MergeTree ORDER BY (account_id, ts);

CREATE TABLE webhook_deliveries (
    ts DateTime64(3, 'UTC'),
    account_id LowCardinality(String),
    delivery_id String,
    webhook_id LowCardinality(String),
    event_type LowCardinality(String),
    endpoint_url LowCardinality(String),
    attempt UInt8,
    response_status UInt16 /* 0 = no response */,
    response_ms Float32,
    error LowCardinality(String) /* '' | timeout | connection_refused | tls_error | http_error */
) ENGINE = MergeTree ORDER BY (account_id, ts);

CREATE TABLE sso_logins (
    ts DateTime64(3, 'UTC'),
    account_id LowCardinality(String),
    user_email String,
    idp_entity_id LowCardinality(String),
    outcome LowCardinality(String) /* success | failure */,
    error String,
    clock_skew_s Int32,
    cert_sha1 LowCardinality(String),
    /* what the SAML response said it was made for and with: Destination, Audience, NameID Format, SignatureMethod */
    acs_url LowCardinality(String),
    audience LowCardinality(String),
    nameid_format LowCardinality(String),
    sig_alg LowCardinality(String)
) ENGINE = MergeTree ORDER BY (account_id, ts);
