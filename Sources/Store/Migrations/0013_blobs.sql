-- 0013: encrypted attachments (issue 20; docs/GATEWAY_SPEC.md §13). The bytes live in files
-- under [blobs] directory, named by the SHA-256 of the ciphertext; a row says who uploaded a
-- blob, how large it is and until when it is kept. The server never has plaintext or keys.
CREATE TABLE gw_blobs (
    blob_id    bytea       PRIMARY KEY,  -- SHA-256 of the ciphertext
    user_id    bytea       NOT NULL,     -- the uploader's user (for the quota)
    device_id  bytea       NOT NULL,     -- the uploading device (may delete it)
    size       bigint      NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX gw_blobs_user ON gw_blobs (user_id);
CREATE INDEX gw_blobs_expiry ON gw_blobs (expires_at);
