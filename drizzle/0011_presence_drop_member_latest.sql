-- The member-wide newest heartbeat (time, idle flag) decided nothing once presence went per agent
-- (0010: each agent's newest heartbeat is in `agents`); ingest no longer writes it.
ALTER TABLE `member_presence` DROP COLUMN `latest_time`;--> statement-breakpoint
ALTER TABLE `member_presence` DROP COLUMN `latest_idle`;
