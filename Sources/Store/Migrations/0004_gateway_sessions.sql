-- 0004: what the realtime gateway's sessions need (docs/GATEWAY_SPEC.md §3, §5).
--   * gw_secrets: keys every daemon shares (the resume-token HMAC key).
--   * gw_members.left_seq: a removed member keeps its row until it is re-added, so that its
--     devices still read the log up to and including the Commit that removed it, and not after.
--   * gw_log.added_users / removed_users: the membership change of a Commit travels with it in
--     log order, so every daemon stops delivering to removed users at exactly that entry.

CREATE TABLE gw_secrets (
    name       text        PRIMARY KEY,
    value      bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE gw_members ADD COLUMN left_seq bigint;  -- NULL: a member; else removed by the Commit at this seq

ALTER TABLE gw_log ADD COLUMN added_users bytea[] NOT NULL DEFAULT '{}';
ALTER TABLE gw_log ADD COLUMN removed_users bytea[] NOT NULL DEFAULT '{}';

-- Retention: entries are pruned by age.
CREATE INDEX gw_log_accepted ON gw_log (accepted_at_ms);
