-- 0001: the audit ledger, an append-only record of security-relevant events
-- (daemon start/stop, schema changes; later device, KeyPackage, membership and admin events).
-- It never holds message contents.

CREATE TABLE audit_ledger (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    gateway_id  text        NOT NULL,
    event       text        NOT NULL,  -- dotted name, e.g. 'daemon.started'
    actor       text,                  -- who caused it: a device, a user, 'admin', 'system'
    subject     text,                  -- what it concerns
    details     jsonb       NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX audit_ledger_occurred_at ON audit_ledger (occurred_at);
CREATE INDEX audit_ledger_event ON audit_ledger (event, occurred_at);

CREATE FUNCTION audit_ledger_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_ledger is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_ledger_append_only
    BEFORE UPDATE OR DELETE ON audit_ledger
    FOR EACH ROW EXECUTE FUNCTION audit_ledger_refuse_change();
