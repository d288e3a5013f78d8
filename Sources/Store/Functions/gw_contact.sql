-- Contact requests and their answers (GATEWAY_SPEC §4, Contact); first in migration 0005,
-- changed by 0007. A contact request to someone who blocked you must look like a request to
-- anyone who has not answered (or does not exist): the requester's grant is stored and its own
-- devices hear OUTGOING, and it lists the request; the blocker is told nothing and does not list
-- it while the block stands (ListContacts leaves out requests from users one blocks). `accept`
-- answers `no_request`, as for anyone who has not asked you.
CREATE OR REPLACE FUNCTION gw_contact(p_user bytea, p_other bytea, p_action text) RETURNS text
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
    v_theirs := EXISTS (SELECT 1 FROM gw_presence_grants WHERE granter = p_other AND grantee = p_user);
    IF p_action = 'accept' AND NOT v_theirs THEN
        RETURN 'no_request';
    END IF;
    INSERT INTO gw_presence_grants (granter, grantee) VALUES (p_user, p_other) ON CONFLICT DO NOTHING;
    IF EXISTS (SELECT 1 FROM gw_blocks WHERE user_id = p_other AND blocked_user = p_user) THEN
        -- A block revoked both grants, so theirs cannot stand: this is a pending request, told
        -- to the requester only.
        PERFORM pg_notify('polygate_session', 'c:' || encode(p_user, 'hex') || ':' || encode(p_other, 'hex') || ':2');
        RETURN 'blocked_by_them';
    END IF;
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
