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

-- The append transaction of docs/GATEWAY_SPEC.md §4.2 as one function, so that a Send is one
-- statement (one round trip, pipelinable, its plans cached per connection). Errors are raised
-- with SQLSTATEs of class GW, which the daemon maps to wire error codes:
--   GW001 not_member   GW002 stale_epoch (DETAIL: the current epoch)   GW003 bad_welcome
--   GW004 blocked      GW005 bad_request
-- A concurrent retry of the same msg_id fails with 23505 on gw_log_msg_id; the caller retries
-- and gets the duplicate.
CREATE FUNCTION gw_append(
    p_conv bytea, p_msg bytea, p_user bytea, p_device bytea, p_kind smallint, p_epoch bigint,
    p_message bytea, p_now_ms bigint, p_origin text, p_past_epochs bigint,
    p_added bytea[], p_removed bytea[], p_welcome_devices bytea[], p_welcome bytea, p_group_info bytea
) RETURNS TABLE (out_seq bigint, out_epoch bigint, out_duplicate boolean, out_conv_home text)
LANGUAGE plpgsql AS $fn$
DECLARE
    v_seq bigint;
    v_epoch bigint;
    v_home text;
BEGIN
    IF p_kind NOT IN (1, 2, 3) THEN
        RAISE EXCEPTION 'bad_request' USING ERRCODE = 'GW005';
    END IF;
    -- A msg_id already in the log: the original seq (members only learn that).
    SELECT l.seq INTO v_seq FROM gw_log l WHERE l.conv_id = p_conv AND l.msg_id = p_msg;
    IF FOUND THEN
        SELECT c.epoch, c.conv_home INTO v_epoch, v_home FROM gw_conversations c WHERE c.conv_id = p_conv;
        IF NOT EXISTS (SELECT 1 FROM gw_members m WHERE m.conv_id = p_conv AND m.user_id = p_user AND m.left_seq IS NULL) THEN
            RAISE EXCEPTION 'not_member' USING ERRCODE = 'GW001';
        END IF;
        RETURN QUERY SELECT v_seq, v_epoch, true, v_home;
        RETURN;
    END IF;
    -- The next seq, and for a Commit the compare-and-set on the epoch. The row lock taken here
    -- orders the conversation's appends: they commit in seq order.
    IF p_kind = 3 THEN
        UPDATE gw_conversations c SET epoch = c.epoch + 1, next_seq = c.next_seq + 1, group_info = p_group_info
        WHERE c.conv_id = p_conv AND c.epoch = p_epoch
        RETURNING c.next_seq - 1, c.epoch, c.conv_home INTO v_seq, v_epoch, v_home;
        IF NOT FOUND THEN
            SELECT c.epoch INTO v_epoch FROM gw_conversations c WHERE c.conv_id = p_conv FOR SHARE;
            IF NOT FOUND OR NOT EXISTS (
                SELECT 1 FROM gw_members m WHERE m.conv_id = p_conv AND m.user_id = p_user AND m.left_seq IS NULL
            ) THEN
                RAISE EXCEPTION 'not_member' USING ERRCODE = 'GW001';
            END IF;
            RAISE EXCEPTION 'stale_epoch' USING ERRCODE = 'GW002', DETAIL = v_epoch::text;
        END IF;
    ELSE
        UPDATE gw_conversations c SET next_seq = c.next_seq + 1 WHERE c.conv_id = p_conv
        RETURNING c.next_seq - 1, c.epoch, c.conv_home INTO v_seq, v_epoch, v_home;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'not_member' USING ERRCODE = 'GW001';
        END IF;
    END IF;
    -- Membership as of the latest Commit (whose transaction held the row lock we hold now).
    IF NOT EXISTS (SELECT 1 FROM gw_members m WHERE m.conv_id = p_conv AND m.user_id = p_user AND m.left_seq IS NULL) THEN
        RAISE EXCEPTION 'not_member' USING ERRCODE = 'GW001';
    END IF;
    IF p_kind = 1 THEN
        IF p_epoch > v_epoch OR p_epoch + p_past_epochs < v_epoch THEN
            RAISE EXCEPTION 'stale_epoch' USING ERRCODE = 'GW002', DETAIL = v_epoch::text;
        END IF;
    ELSIF p_kind = 2 THEN
        IF p_epoch <> v_epoch THEN
            RAISE EXCEPTION 'stale_epoch' USING ERRCODE = 'GW002', DETAIL = v_epoch::text;
        END IF;
    ELSE
        -- A user cannot be added while a block stands between them and a member.
        IF cardinality(p_added) > 0 AND EXISTS (
            SELECT 1 FROM gw_blocks b
            WHERE (b.blocked_user = ANY(p_added) AND b.user_id IN (SELECT m.user_id FROM gw_members m WHERE m.conv_id = p_conv AND m.left_seq IS NULL))
               OR (b.user_id = ANY(p_added) AND b.blocked_user IN (SELECT m.user_id FROM gw_members m WHERE m.conv_id = p_conv AND m.left_seq IS NULL))
        ) THEN
            RAISE EXCEPTION 'blocked' USING ERRCODE = 'GW004';
        END IF;
        -- Welcome targets: distinct, active devices of the added users.
        IF cardinality(p_welcome_devices) > 0 AND (
            (SELECT count(DISTINCT d) FROM unnest(p_welcome_devices) AS u(d)) <> cardinality(p_welcome_devices)
            OR (SELECT count(*) FROM gw_devices WHERE device_id = ANY(p_welcome_devices) AND user_id = ANY(p_added) AND revoked_at IS NULL)
               <> cardinality(p_welcome_devices)
        ) THEN
            RAISE EXCEPTION 'bad_welcome' USING ERRCODE = 'GW003';
        END IF;
        UPDATE gw_members SET left_seq = v_seq
        WHERE conv_id = p_conv AND user_id = ANY(p_removed) AND left_seq IS NULL;
        -- A user removed earlier comes back: it reads from this Commit on, like a new member.
        INSERT INTO gw_members (conv_id, user_id, joined_seq)
        SELECT p_conv, u, v_seq FROM unnest(p_added) AS a(u)
        ON CONFLICT (conv_id, user_id) DO UPDATE SET joined_seq = excluded.joined_seq, left_seq = NULL
        WHERE gw_members.left_seq IS NOT NULL;
        IF cardinality(p_welcome_devices) > 0 THEN
            INSERT INTO gw_welcomes (device_id, conv_id, seq, welcome)
            SELECT d, p_conv, v_seq, p_welcome FROM unnest(p_welcome_devices) AS u(d);
        END IF;
        PERFORM pg_notify('polygate_session', 'u:' || encode(u, 'hex')) FROM (SELECT DISTINCT unnest(p_added) AS u) AS added;
        IF cardinality(p_added) > 0 OR cardinality(p_removed) > 0 THEN
            INSERT INTO audit_ledger (gateway_id, event, actor, subject, details)
            VALUES (p_origin, 'membership.changed', encode(p_device, 'hex'), encode(p_conv, 'hex'), jsonb_build_object(
                'seq', v_seq::text,
                'added', array_to_string(ARRAY(SELECT encode(x, 'hex') FROM unnest(p_added) AS a(x)), ','),
                'removed', array_to_string(ARRAY(SELECT encode(x, 'hex') FROM unnest(p_removed) AS r(x)), ',')));
        END IF;
    END IF;
    INSERT INTO gw_log (conv_id, seq, msg_id, sender_device, kind, epoch, message, accepted_at_ms, origin_gateway,
                        added_users, removed_users)
    VALUES (p_conv, v_seq, p_msg, p_device, p_kind, p_epoch, p_message, p_now_ms, p_origin,
            CASE WHEN p_kind = 3 THEN p_added ELSE '{}' END, CASE WHEN p_kind = 3 THEN p_removed ELSE '{}' END);
    PERFORM pg_notify('polygate_conv', encode(p_conv, 'hex') || ':' || v_seq);
    RETURN QUERY SELECT v_seq, v_epoch, false, v_home;
END
$fn$;

-- A page of a conversation's log with its bounds (for backlogs, gaps and the fan-out), as a
-- function so that its plan is cached per connection.
CREATE FUNCTION gw_page(p_conv bytea, p_after bigint, p_until bigint, p_limit bigint)
RETURNS TABLE (o_newest bigint, o_oldest bigint, o_conv_home text, o_seq bigint, o_msg_id bytea, o_sender_device bytea,
               o_kind smallint, o_epoch bigint, o_message bytea, o_accepted_at_ms bigint, o_origin_gateway text,
               o_added_users bytea[], o_removed_users bytea[])
LANGUAGE plpgsql STABLE AS $fn$
BEGIN
    RETURN QUERY
    SELECT c.next_seq - 1, coalesce((SELECT min(g.seq) FROM gw_log g WHERE g.conv_id = c.conv_id), c.next_seq), c.conv_home,
           l.seq, l.msg_id, l.sender_device, l.kind, l.epoch, l.message, l.accepted_at_ms, l.origin_gateway,
           l.added_users, l.removed_users
    FROM gw_conversations c
    LEFT JOIN LATERAL (
        SELECT * FROM gw_log e WHERE e.conv_id = c.conv_id AND e.seq > p_after AND e.seq <= p_until
        ORDER BY e.seq LIMIT p_limit
    ) l ON true
    WHERE c.conv_id = p_conv
    ORDER BY l.seq;
END
$fn$;
