-- Appends that share commits (issue 18, ADR 0019). gw_append no longer announces the append
-- with pg_notify('polygate_conv', …) inside its transaction: PostgreSQL serializes the commits
-- of transactions that notify behind one lock held through the WAL flush, so appends could
-- not share fsyncs. The daemon announces its appends after they commit, many in one
-- statement (DeliveryRepository.announce); a lost announcement is covered by every daemon's
-- reconciliation. The function is otherwise unchanged from 0008 (Commits still notify
-- polygate_session in the transaction: membership must not be lost).
CREATE OR REPLACE FUNCTION gw_append(
    p_conv bytea, p_msg bytea, p_user bytea, p_device bytea, p_kind smallint, p_epoch bigint,
    p_message bytea, p_now_ms bigint, p_origin text, p_past_epochs bigint,
    p_added bytea[], p_removed bytea[], p_welcome_devices bytea[], p_welcome bytea, p_group_info bytea,
    p_max_members bigint
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
        -- Two members and a block between them, either way: nothing more is said in it. Blocks
        -- are rare: the sender's are looked up first (two index probes); only then are at most
        -- three member rows read, whatever the conversation's size.
        IF (EXISTS (SELECT 1 FROM gw_blocks b WHERE b.user_id = p_user)
            OR EXISTS (SELECT 1 FROM gw_blocks b WHERE b.blocked_user = p_user))
           AND (SELECT count(*) FROM (SELECT 1 FROM gw_members m WHERE m.conv_id = p_conv AND m.left_seq IS NULL LIMIT 3) AS t) = 2
        THEN
            IF EXISTS (
                SELECT 1 FROM gw_members o
                WHERE o.conv_id = p_conv AND o.left_seq IS NULL AND o.user_id <> p_user
                  AND (EXISTS (SELECT 1 FROM gw_blocks b WHERE b.user_id = o.user_id AND b.blocked_user = p_user)
                       OR EXISTS (SELECT 1 FROM gw_blocks b WHERE b.user_id = p_user AND b.blocked_user = o.user_id))
            ) THEN
                RAISE EXCEPTION 'blocked' USING ERRCODE = 'GW004';
            END IF;
        END IF;
    ELSIF p_kind = 2 THEN
        IF p_epoch <> v_epoch THEN
            RAISE EXCEPTION 'stale_epoch' USING ERRCODE = 'GW002', DETAIL = v_epoch::text;
        END IF;
    ELSE
        IF cardinality(p_added) > 0 THEN
            -- Only users with an active device can be added (else anyone could fill a
            -- conversation with made-up members).
            IF (SELECT count(DISTINCT d.user_id) FROM gw_devices d WHERE d.user_id = ANY(p_added) AND d.revoked_at IS NULL)
               <> (SELECT count(DISTINCT a.u) FROM unnest(p_added) AS a(u)) THEN
                RAISE EXCEPTION 'no_device' USING ERRCODE = 'GW006';
            END IF;
            -- At most p_max_members members once this Commit is applied.
            IF (SELECT count(*) FROM gw_members m WHERE m.conv_id = p_conv AND m.left_seq IS NULL AND NOT (m.user_id = ANY(p_removed)))
               + (SELECT count(DISTINCT a.u) FROM unnest(p_added) AS a(u) WHERE NOT EXISTS (
                      SELECT 1 FROM gw_members m WHERE m.conv_id = p_conv AND m.user_id = a.u AND m.left_seq IS NULL))
               > p_max_members THEN
                RAISE EXCEPTION 'too_many_members' USING ERRCODE = 'GW007', DETAIL = p_max_members::text;
            END IF;
        END IF;
        -- A user cannot be added while a block stands between them and a member.
        IF cardinality(p_added) > 0 AND EXISTS (
            SELECT 1 FROM gw_blocks b
            WHERE (b.blocked_user = ANY(p_added) AND b.user_id IN (SELECT m.user_id FROM gw_members m WHERE m.conv_id = p_conv AND m.left_seq IS NULL))
               OR (b.user_id = ANY(p_added) AND b.blocked_user IN (SELECT m.user_id FROM gw_members m WHERE m.conv_id = p_conv AND m.left_seq IS NULL))
        ) THEN
            RAISE EXCEPTION 'blocked' USING ERRCODE = 'GW004';
        END IF;
        -- Welcome targets: distinct, active devices of the added users or of members (a member's
        -- other devices are added by Welcome too).
        IF cardinality(p_welcome_devices) > 0 AND (
            (SELECT count(DISTINCT d) FROM unnest(p_welcome_devices) AS u(d)) <> cardinality(p_welcome_devices)
            OR (SELECT count(*) FROM gw_devices
                WHERE device_id = ANY(p_welcome_devices) AND revoked_at IS NULL
                  AND (user_id = ANY(p_added)
                       OR user_id IN (SELECT m.user_id FROM gw_members m WHERE m.conv_id = p_conv AND m.left_seq IS NULL)))
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
            -- The Welcome's device reads what follows this Commit, and nothing before it.
            INSERT INTO gw_cursors (device_id, conv_id, acked_seq)
            SELECT d, p_conv, v_seq FROM unnest(p_welcome_devices) AS u(d)
            ON CONFLICT (device_id, conv_id) DO UPDATE SET acked_seq = greatest(gw_cursors.acked_seq, excluded.acked_seq);
        END IF;
        -- Added users, and the users of the Welcome's devices (a member's new device), learn of
        -- it at once.
        PERFORM pg_notify('polygate_session', 'u:' || encode(u, 'hex')) FROM (
            SELECT unnest(p_added) AS u
            UNION
            SELECT d.user_id FROM gw_devices d WHERE d.device_id = ANY(p_welcome_devices)
        ) AS told;
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
    RETURN QUERY SELECT v_seq, v_epoch, false, v_home;
END
$fn$;
