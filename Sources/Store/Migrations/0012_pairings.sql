-- 0012: pairings that link a new device to its user by a pairing code (issue 19, item 4;
-- ADR 0023, docs/GATEWAY_SPEC.md §12). The server holds the CPace shares and confirmations and
-- relays the sealed identity; it never sees the code's secret half. A row lives until its
-- expiry plus a day (for gwctl and the ledger's context); the sealed identity is dropped as
-- soon as the new device fetched it, or the pairing ended otherwise.
CREATE TABLE gw_pairings (
    pairing_id             bytea       PRIMARY KEY,   -- 5 bytes: the code's first half
    user_id                bytea       NOT NULL,
    device_id              bytea       NOT NULL,      -- the device that made it
    session_nonce          bytea       NOT NULL,
    initiator_share        bytea       NOT NULL,
    state                  text        NOT NULL DEFAULT 'open'
        CHECK (state IN ('open', 'claimed', 'sealed', 'completed', 'failed', 'expired', 'cancelled')),
    created_at             timestamptz NOT NULL DEFAULT now(),
    expires_at             timestamptz NOT NULL,
    claim_token_hash       bytea,                     -- SHA-256 of the new device's bearer token
    claimed_ip             text,
    responder_share        bytea,
    responder_confirmation bytea,
    initiator_confirmation bytea,
    sealed_identity        bytea,
    ended_at               timestamptz
);
CREATE INDEX gw_pairings_user ON gw_pairings (user_id);
CREATE INDEX gw_pairings_live ON gw_pairings (expires_at) WHERE state IN ('open', 'claimed', 'sealed');
