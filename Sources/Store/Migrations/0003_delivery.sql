-- 0003: the gateway's MLS Delivery Service (docs/GATEWAY_SPEC.md). MLS messages are opaque
-- bytes here; the tables order them, keep them for retention, and control access.

CREATE TABLE gw_devices (
    device_id     bytea       PRIMARY KEY,  -- Ed25519 device key
    user_id       bytea       NOT NULL,     -- Polycentric system key
    certificate   bytea       NOT NULL,     -- the SignedDeviceCertificate as presented
    name          text        NOT NULL,
    registered_at timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz
);
CREATE INDEX gw_devices_user ON gw_devices (user_id);

CREATE TABLE gw_key_packages (
    id            bigint   GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id     bytea    NOT NULL REFERENCES gw_devices (device_id) ON DELETE CASCADE,
    cipher_suite  integer  NOT NULL,
    key_package   bytea    NOT NULL,  -- serialized MLSMessage(KeyPackage)
    expires_at_ms bigint,             -- the leaf's lifetime end
    last_resort   boolean  NOT NULL DEFAULT false
);
CREATE INDEX gw_key_packages_claim ON gw_key_packages (device_id, cipher_suite, id) WHERE NOT last_resort;
CREATE UNIQUE INDEX gw_key_packages_last_resort ON gw_key_packages (device_id, cipher_suite) WHERE last_resort;

CREATE TABLE gw_conversations (
    conv_id    bytea       PRIMARY KEY,  -- the MLS group id
    epoch      bigint      NOT NULL DEFAULT 0,
    next_seq   bigint      NOT NULL DEFAULT 1,  -- bumped in the append transaction: gap-free
    conv_home  text        NOT NULL,
    group_info bytea       NOT NULL,
    created_by bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE gw_members (
    conv_id    bytea  NOT NULL REFERENCES gw_conversations (conv_id) ON DELETE CASCADE,
    user_id    bytea  NOT NULL,
    joined_seq bigint NOT NULL,  -- the member reads entries after this seq
    PRIMARY KEY (conv_id, user_id)
);
CREATE INDEX gw_members_user ON gw_members (user_id);

CREATE TABLE gw_log (
    conv_id        bytea    NOT NULL REFERENCES gw_conversations (conv_id) ON DELETE CASCADE,
    seq            bigint   NOT NULL,
    msg_id         bytea    NOT NULL,
    sender_device  bytea    NOT NULL,
    kind           smallint NOT NULL,  -- 1 application, 2 proposal, 3 commit
    epoch          bigint   NOT NULL,
    message        bytea    NOT NULL,
    accepted_at_ms bigint   NOT NULL,
    origin_gateway text     NOT NULL,
    PRIMARY KEY (conv_id, seq),
    CONSTRAINT gw_log_msg_id UNIQUE (conv_id, msg_id)
);

CREATE TABLE gw_welcomes (
    device_id bytea  NOT NULL,
    conv_id   bytea  NOT NULL REFERENCES gw_conversations (conv_id) ON DELETE CASCADE,
    seq       bigint NOT NULL,  -- the winning Commit's seq
    welcome   bytea  NOT NULL,
    PRIMARY KEY (device_id, conv_id, seq)
);

CREATE TABLE gw_cursors (
    device_id bytea  NOT NULL,
    conv_id   bytea  NOT NULL REFERENCES gw_conversations (conv_id) ON DELETE CASCADE,
    acked_seq bigint NOT NULL,
    PRIMARY KEY (device_id, conv_id)
);

CREATE TABLE gw_blocks (
    user_id      bytea NOT NULL,
    blocked_user bytea NOT NULL,
    PRIMARY KEY (user_id, blocked_user)
);
