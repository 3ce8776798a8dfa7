-- A heartbeat's idempotency key becomes (member_id, time, client_id): one unique index instead of two
-- (the rebuild's read order and the key in one B-tree). Created before the old ones are dropped, so a
-- member's heartbeats stay indexed throughout; no row can conflict, as (member_id, client_id) was unique.
CREATE UNIQUE INDEX `heartbeats_member_time_uq` ON `heartbeats` (`member_id`,`time`,`client_id`);--> statement-breakpoint
DROP INDEX `heartbeats_member_client_uq`;--> statement-breakpoint
DROP INDEX `heartbeats_member_time_idx`;
