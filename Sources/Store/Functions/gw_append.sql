-- The append of docs/GATEWAY_SPEC.md §4.2 (Send), for a batch of Sends in one statement and one
-- transaction (ADR 0019: group commit). Before migration 0010 this was gw_append, one Send per
-- transaction that raised its refusals; a refusal now ends only its own item.
--
-- gw_append_item checks everything before it writes anything, so a refused item leaves no
-- trace and needs no subtransaction. Its codes, which the daemon maps to wire errors:
--   GW001 not_member   GW002 stale_epoch (detail: the current epoch)   GW003 bad_welcome
--   GW004 blocked      GW005 bad_request   GW006 no_device   GW007 too_many_members (detail: the cap)
-- The conversation's row is locked first (FOR UPDATE): it orders the conversation's appends, so
-- they commit in seq order, exactly one of two Commits on one epoch wins, and the msg_id check
-- that follows cannot race with a concurrent retry of the same msg_id.
CREATE OR REPLACE FUNCTION gw_append_item(
    p_conv bytea, p_msg bytea, p_user bytea, p_device bytea, p_kind smallint, p_epoch bigint,
    p_message bytea, p_now_ms bigint, p_origin text, p_past_epochs bigint,
    p_added bytea[], p_removed bytea[], p_welcome_devices bytea[], p_welcome bytea, p_group_info bytea,
    p_max_members bigint,
    OUT o_seq bigint, OUT o_epoch bigint, OUT o_duplicate boolean, OUT o_conv_home text,
    OUT o_code text, OUT o_detail text
) LANGUAGE plpgsql AS $fn$
DECLARE
    v_original bigint;
BEGIN
    o_duplicate := false;
    IF p_kind NOT IN (1, 2, 3) THEN
        o_code := 'GW005';
        RETURN;
    END IF;
    SELECT c.next_seq, c.epoch, c.conv_home INTO o_seq, o_epoch, o_conv_home
    FROM gw_conversations c WHERE c.conv_id = p_conv FOR UPDATE;
    IF NOT FOUND OR NOT EXISTS (
        SELECT 1 FROM gw_members m WHERE m.conv_id = p_conv AND m.user_id = p_user AND m.left_seq IS NULL
    ) THEN
        o_code := 'GW001';
        RETURN;
    END IF;
    -- A msg_id already in the log: the original seq (members only learn that).
    SELECT l.seq INTO v_original FROM gw_log l WHERE l.conv_id = p_conv AND l.msg_id = p_msg;
    IF FOUND THEN
        o_seq := v_original;
        o_duplicate := true;
        RETURN;
    END IF;
    IF p_kind = 1 THEN
        IF p_epoch > o_epoch OR p_epoch + p_past_epochs < o_epoch THEN
            o_code := 'GW002';
            o_detail := o_epoch::text;
            RETURN;
        END IF;
        -- Two members and a block between them, either way: nothing more is said in it. Blocks
        -- are rare: the sender's are looked up first (two index probes); only then are at most
        -- three member rows read, whatever the conversation's size.
        IF (EXISTS (SELECT 1 FROM gw_blocks b WHERE b.user_id = p_user)
            OR EXISTS (SELECT 1 FROM gw_blocks b WHERE b.blocked_user = p_user))
           AND (SELECT count(*) FROM (SELECT 1 FROM gw_members m WHERE m.conv_id = p_conv AND m.left_seq IS NULL LIMIT 3) AS t) = 2
           AND EXISTS (
                SELECT 1 FROM gw_members o
                WHERE o.conv_id = p_conv AND o.left_seq IS NULL AND o.user_id <> p_user
                  AND (EXISTS (SELECT 1 FROM gw_blocks b WHERE b.user_id = o.user_id AND b.blocked_user = p_user)
                       OR EXISTS (SELECT 1 FROM gw_blocks b WHERE b.user_id = p_user AND b.blocked_user = o.user_id))
           )
        THEN
            o_code := 'GW004';
            RETURN;
        END IF;
        UPDATE gw_conversations c SET next_seq = c.next_seq + 1 WHERE c.conv_id = p_conv;
    ELSIF p_kind = 2 THEN
        IF p_epoch <> o_epoch THEN
            o_code := 'GW002';
            o_detail := o_epoch::text;
            RETURN;
        END IF;
        UPDATE gw_conversations c SET next_seq = c.next_seq + 1 WHERE c.conv_id = p_conv;
    ELSE
        -- The compare-and-set: a Commit applies to the epoch it was made for.
        IF p_epoch <> o_epoch THEN
            o_code := 'GW002';
            o_detail := o_epoch::text;
            RETURN;
        END IF;
        IF cardinality(p_added) > 0 THEN
            -- Only users with an active device can be added (else anyone could fill a
            -- conversation with made-up members).
            IF (SELECT count(DISTINCT d.user_id) FROM gw_devices d WHERE d.user_id = ANY(p_added) AND d.revoked_at IS NULL)
               <> (SELECT count(DISTINCT a.u) FROM unnest(p_added) AS a(u)) THEN
                o_code := 'GW006';
                RETURN;
            END IF;
            -- At most p_max_members members once this Commit is applied.
            IF (SELECT count(*) FROM gw_members m WHERE m.conv_id = p_conv AND m.left_seq IS NULL AND NOT (m.user_id = ANY(p_removed)))
               + (SELECT count(DISTINCT a.u) FROM unnest(p_added) AS a(u) WHERE NOT EXISTS (
                      SELECT 1 FROM gw_members m WHERE m.conv_id = p_conv AND m.user_id = a.u AND m.left_seq IS NULL))
               > p_max_members THEN
                o_code := 'GW007';
                o_detail := p_max_members::text;
                RETURN;
            END IF;
            -- A user cannot be added while a block stands between them and a member.
            IF EXISTS (
                SELECT 1 FROM gw_blocks b
                WHERE (b.blocked_user = ANY(p_added) AND b.user_id IN (SELECT m.user_id FROM gw_members m WHERE m.conv_id = p_conv AND m.left_seq IS NULL))
                   OR (b.user_id = ANY(p_added) AND b.blocked_user IN (SELECT m.user_id FROM gw_members m WHERE m.conv_id = p_conv AND m.left_seq IS NULL))
            ) THEN
                o_code := 'GW004';
                RETURN;
            END IF;
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
            o_code := 'GW003';
            RETURN;
        END IF;
        UPDATE gw_conversations c SET epoch = c.epoch + 1, next_seq = c.next_seq + 1, group_info = p_group_info
        WHERE c.conv_id = p_conv;
        o_epoch := o_epoch + 1;
        UPDATE gw_members SET left_seq = o_seq
        WHERE conv_id = p_conv AND user_id = ANY(p_removed) AND left_seq IS NULL;
        -- A user removed earlier comes back: it reads from this Commit on, like a new member.
        INSERT INTO gw_members (conv_id, user_id, joined_seq)
        SELECT p_conv, u, o_seq FROM unnest(p_added) AS a(u)
        ON CONFLICT (conv_id, user_id) DO UPDATE SET joined_seq = excluded.joined_seq, left_seq = NULL
        WHERE gw_members.left_seq IS NOT NULL;
        IF cardinality(p_welcome_devices) > 0 THEN
            INSERT INTO gw_welcomes (device_id, conv_id, seq, welcome)
            SELECT d, p_conv, o_seq, p_welcome FROM unnest(p_welcome_devices) AS u(d);
            -- The Welcome's device reads what follows this Commit, and nothing before it.
            INSERT INTO gw_cursors (device_id, conv_id, acked_seq)
            SELECT d, p_conv, o_seq FROM unnest(p_welcome_devices) AS u(d)
            ON CONFLICT (device_id, conv_id) DO UPDATE SET acked_seq = greatest(gw_cursors.acked_seq, excluded.acked_seq);
        END IF;
        -- Added users, and the users of the Welcome's devices (a member's new device), learn of
        -- it at once. (Rare, and must not be lost between commit and announcement: these stay
        -- in the transaction, unlike the announcement of appends.)
        PERFORM pg_notify('polygate_session', 'u:' || encode(u, 'hex')) FROM (
            SELECT unnest(p_added) AS u
            UNION
            SELECT d.user_id FROM gw_devices d WHERE d.device_id = ANY(p_welcome_devices)
        ) AS told;
        IF cardinality(p_added) > 0 OR cardinality(p_removed) > 0 THEN
            INSERT INTO audit_ledger (gateway_id, event, actor, subject, details)
            VALUES (p_origin, 'membership.changed', encode(p_device, 'hex'), encode(p_conv, 'hex'), jsonb_build_object(
                'seq', o_seq::text,
                'added', array_to_string(ARRAY(SELECT encode(x, 'hex') FROM unnest(p_added) AS a(x)), ','),
                'removed', array_to_string(ARRAY(SELECT encode(x, 'hex') FROM unnest(p_removed) AS r(x)), ',')));
        END IF;
    END IF;
    INSERT INTO gw_log (conv_id, seq, msg_id, sender_device, kind, epoch, message, accepted_at_ms, origin_gateway,
                        added_users, removed_users)
    VALUES (p_conv, o_seq, p_msg, p_device, p_kind, p_epoch, p_message, p_now_ms, p_origin,
            CASE WHEN p_kind = 3 THEN p_added ELSE '{}' END, CASE WHEN p_kind = 3 THEN p_removed ELSE '{}' END);
END
$fn$;

-- A batch of Sends, applied in the order given (the daemon orders them by conversation, keeping
-- each conversation's arrival order, so that batches lock conversation rows in one order and
-- cannot deadlock each other). Parallel arrays, one element per item; a Commit's lists are
-- flattened, item i taking the next p_added_n[i] users of p_added (likewise removed and Welcome
-- devices). One row per item: its seq, epoch, duplicate flag and the conversation's home, or a
-- code (and detail) when it was refused. Everything not refused commits together.
CREATE OR REPLACE FUNCTION gw_append_batch(
    p_conv bytea[], p_msg bytea[], p_user bytea[], p_device bytea[], p_kind smallint[], p_epoch bigint[],
    p_message bytea[], p_now_ms bigint[], p_origin text, p_past_epochs bigint, p_max_members bigint,
    p_added bytea[], p_added_n integer[], p_removed bytea[], p_removed_n integer[],
    p_welcome_devices bytea[], p_welcome_n integer[], p_welcome bytea[], p_group_info bytea[]
) RETURNS TABLE (o_item integer, o_seq bigint, o_epoch bigint, o_duplicate boolean, o_conv_home text, o_code text, o_detail text)
LANGUAGE plpgsql AS $fn$
DECLARE
    v_items integer := coalesce(cardinality(p_conv), 0);
    v_added integer := 0;
    v_removed integer := 0;
    v_welcomed integer := 0;
    v_result record;
BEGIN
    IF coalesce(cardinality(p_msg), 0) <> v_items OR coalesce(cardinality(p_user), 0) <> v_items
       OR coalesce(cardinality(p_device), 0) <> v_items OR coalesce(cardinality(p_kind), 0) <> v_items
       OR coalesce(cardinality(p_epoch), 0) <> v_items OR coalesce(cardinality(p_message), 0) <> v_items
       OR coalesce(cardinality(p_now_ms), 0) <> v_items OR coalesce(cardinality(p_added_n), 0) <> v_items
       OR coalesce(cardinality(p_removed_n), 0) <> v_items OR coalesce(cardinality(p_welcome_n), 0) <> v_items
       OR coalesce(cardinality(p_welcome), 0) <> v_items OR coalesce(cardinality(p_group_info), 0) <> v_items THEN
        RAISE EXCEPTION 'gw_append_batch: the arrays differ in length' USING ERRCODE = 'GW005';
    END IF;
    FOR i IN 1 .. v_items LOOP
        SELECT * INTO v_result FROM gw_append_item(
            p_conv[i], p_msg[i], p_user[i], p_device[i], p_kind[i], p_epoch[i], p_message[i], p_now_ms[i],
            p_origin, p_past_epochs,
            coalesce(p_added[v_added + 1 : v_added + p_added_n[i]], '{}'),
            coalesce(p_removed[v_removed + 1 : v_removed + p_removed_n[i]], '{}'),
            coalesce(p_welcome_devices[v_welcomed + 1 : v_welcomed + p_welcome_n[i]], '{}'),
            p_welcome[i], p_group_info[i], p_max_members);
        v_added := v_added + p_added_n[i];
        v_removed := v_removed + p_removed_n[i];
        v_welcomed := v_welcomed + p_welcome_n[i];
        o_item := i;
        o_seq := v_result.o_seq;
        o_epoch := v_result.o_epoch;
        o_duplicate := v_result.o_duplicate;
        o_conv_home := v_result.o_conv_home;
        o_code := v_result.o_code;
        o_detail := v_result.o_detail;
        RETURN NEXT;
    END LOOP;
END
$fn$;
