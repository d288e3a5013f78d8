-- 0002: the Polycentric v1 social store. Signed events are kept exactly as received
-- (`raw_event`, the serialized SignedEvent); every other column is derived from the verified
-- event so that reads are index lookups. Clocks and content types are uint64 on the wire and
-- bigint here: ingest refuses values of 2^63 and above.

CREATE TABLE social_events (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    system        bytea       NOT NULL,  -- raw 32-byte Ed25519 key
    process       bytea       NOT NULL,  -- 16 bytes
    logical_clock bigint      NOT NULL,
    content_type  bigint      NOT NULL,
    unix_ms       bigint,                -- Event.unix_milliseconds, when present
    digest        bytea       NOT NULL,  -- SHA-256 of the event bytes
    raw_event     bytea       NOT NULL,  -- the SignedEvent as received
    server_time   timestamptz NOT NULL DEFAULT now(),
    search        tsvector,              -- posts, usernames, descriptions
    CONSTRAINT social_events_key UNIQUE (system, process, logical_clock)
);

-- /query_latest, /head: latest per (process, content type).
CREATE INDEX social_events_latest ON social_events (system, content_type, process, logical_clock DESC);
-- /query_index: newest first by time within a system and type.
CREATE INDEX social_events_by_time ON social_events (system, content_type, unix_ms DESC, process DESC, logical_clock DESC);
-- /explore: all posts, newest first.
CREATE INDEX social_events_explore ON social_events (unix_ms DESC, id DESC) WHERE content_type = 3;
-- /search.
CREATE INDEX social_events_search ON social_events USING gin (search) WHERE search IS NOT NULL;

-- Deleted events. The clock stays "known" for /ranges, re-uploads of the target are refused,
-- and /query_index shows the Delete event in the target's place.
CREATE TABLE social_deletions (
    system          bytea  NOT NULL,
    process         bytea  NOT NULL,
    logical_clock   bigint NOT NULL,
    content_type    bigint NOT NULL,  -- as the Delete states it
    unix_ms         bigint,           -- as the Delete states it
    delete_event_id bigint NOT NULL,  -- the Delete event (no cascade: deleting a Delete keeps its target deleted)
    PRIMARY KEY (system, process, logical_clock)
);
CREATE INDEX social_deletions_by_type ON social_deletions (system, content_type, unix_ms DESC);

-- References of type 2 (subject = system key ‖ process ‖ clock as 8 bytes big-endian: lookups
-- ignore the digest, as upstream's do) and type 3 (subject = the raw bytes).
CREATE TABLE social_references (
    event_id       bigint   NOT NULL REFERENCES social_events (id) ON DELETE CASCADE,
    reference_type smallint NOT NULL,
    subject        bytea    NOT NULL,
    from_type      bigint   NOT NULL,  -- content type of the referencing event
    PRIMARY KEY (reference_type, subject, event_id)
);
CREATE INDEX social_references_event ON social_references (event_id);

-- The latest LWW element per (author, content type, subject): opinions (likes, dislikes).
CREATE TABLE social_lww_references (
    system         bytea    NOT NULL,
    content_type   bigint   NOT NULL,
    reference_type smallint NOT NULL,
    subject        bytea    NOT NULL,
    value          bytea    NOT NULL,
    unix_ms        bigint   NOT NULL,
    event_id       bigint   NOT NULL REFERENCES social_events (id) ON DELETE CASCADE,
    PRIMARY KEY (system, content_type, reference_type, subject)
);
CREATE INDEX social_lww_references_subject ON social_lww_references (reference_type, subject, content_type, value);

-- Claims (content type 12) and their fields, for /resolve_claim and /find_claim_and_vouch.
CREATE TABLE social_claims (
    event_id   bigint PRIMARY KEY REFERENCES social_events (id) ON DELETE CASCADE,
    system     bytea  NOT NULL,
    claim_type bigint NOT NULL
);
CREATE INDEX social_claims_type ON social_claims (claim_type, system);

CREATE TABLE social_claim_fields (
    event_id bigint NOT NULL REFERENCES social_claims (event_id) ON DELETE CASCADE,
    key      bigint NOT NULL,
    value    text   NOT NULL,
    PRIMARY KEY (event_id, key, value)
);
CREATE INDEX social_claim_fields_value ON social_claim_fields (value);
