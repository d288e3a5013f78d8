-- 0011: when each device was last seen (issue 19, item 3): set when a device's first connection
-- on a daemon starts and when its last one there ends (the presence service's batched write),
-- shown to its own user by ListDevices. NULL: not seen since this migration.
ALTER TABLE gw_devices ADD COLUMN last_seen_at timestamptz;
