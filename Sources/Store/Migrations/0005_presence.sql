-- 0005: presence consent (docs/GATEWAY_SPEC.md §10). Leases are soft state in the daemons'
-- memory and are not stored; what is stored is who consented to be seen by whom, each user's
-- presence mode, and the time it was last seen (shown only as a coarse bucket).

-- `granter` lets `grantee` see its presence. Two users see each other only when both granted.
CREATE TABLE gw_presence_grants (
    granter    bytea       NOT NULL,
    grantee    bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (granter, grantee)
);
CREATE INDEX gw_presence_grants_grantee ON gw_presence_grants (grantee);

CREATE TABLE gw_presence_settings (
    user_id      bytea   PRIMARY KEY,
    invisible    boolean NOT NULL DEFAULT false,
    last_seen_ms bigint            -- not advanced while invisible
);

-- A contact action of `p_user` about `p_other` ('request', 'accept' or 'revoke'), with its
-- notifications to both users' devices (`c:<to hex>:<about hex>:<ContactState>` on
-- polygate_session). Returns the outcome: 'mutual', 'outgoing', 'none', 'no_request',
-- 'blocked_by_me' or 'blocked_by_them' (the caller must not tell the latter apart from
-- 'outgoing').
CREATE FUNCTION gw_contact(p_user bytea, p_other bytea, p_action text) RETURNS text
LANGUAGE plpgsql AS $fn$
DECLARE
    v_theirs boolean;
BEGIN
    IF p_action = 'revoke' THEN
        DELETE FROM gw_presence_grants
        WHERE (granter = p_user AND grantee = p_other) OR (granter = p_other AND grantee = p_user);
        IF FOUND THEN
            PERFORM pg_notify('polygate_session', 'c:' || encode(p_user, 'hex') || ':' || encode(p_other, 'hex') || ':4');
            PERFORM pg_notify('polygate_session', 'c:' || encode(p_other, 'hex') || ':' || encode(p_user, 'hex') || ':4');
        END IF;
        RETURN 'none';
    END IF;
    IF EXISTS (SELECT 1 FROM gw_blocks WHERE user_id = p_user AND blocked_user = p_other) THEN
        RETURN 'blocked_by_me';
    END IF;
    IF EXISTS (SELECT 1 FROM gw_blocks WHERE user_id = p_other AND blocked_user = p_user) THEN
        RETURN 'blocked_by_them';
    END IF;
    v_theirs := EXISTS (SELECT 1 FROM gw_presence_grants WHERE granter = p_other AND grantee = p_user);
    IF p_action = 'accept' AND NOT v_theirs THEN
        RETURN 'no_request';
    END IF;
    INSERT INTO gw_presence_grants (granter, grantee) VALUES (p_user, p_other) ON CONFLICT DO NOTHING;
    IF v_theirs THEN
        PERFORM pg_notify('polygate_session', 'c:' || encode(p_user, 'hex') || ':' || encode(p_other, 'hex') || ':1');
        PERFORM pg_notify('polygate_session', 'c:' || encode(p_other, 'hex') || ':' || encode(p_user, 'hex') || ':1');
        RETURN 'mutual';
    END IF;
    PERFORM pg_notify('polygate_session', 'c:' || encode(p_user, 'hex') || ':' || encode(p_other, 'hex') || ':2');
    PERFORM pg_notify('polygate_session', 'c:' || encode(p_other, 'hex') || ':' || encode(p_user, 'hex') || ':3');
    RETURN 'outgoing';
END
$fn$;
