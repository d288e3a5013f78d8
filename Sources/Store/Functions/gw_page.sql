-- A page of a conversation's log with its bounds (for backlogs, gaps and the fan-out), as a
-- function so that its plan is cached per connection. First in migration 0004.
CREATE OR REPLACE FUNCTION gw_page(p_conv bytea, p_after bigint, p_until bigint, p_limit bigint)
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
