-- 0010: group commit of Sends (issue 18, ADR 0019). Stored functions now live in
-- Sources/Store/Functions/, one file each, re-applied by the migrator after the migrations when
-- their text changes; this migration marks the first of them: gw_append_item and
-- gw_append_batch (Functions/gw_append.sql) take over from gw_append, and gw_page and
-- gw_contact move there unchanged. gw_append (0009's) stays for a daemon of the previous
-- version still running during a rolling upgrade; a later migration drops it.
SELECT 1;
