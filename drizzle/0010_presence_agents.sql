-- Presence per agent (device): which of a member's agents last said "idle". A member's existing row
-- becomes one entry under the empty id (its newest heartbeat), which ages out with the offline window.
ALTER TABLE `member_presence` ADD `agents` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
UPDATE `member_presence` SET `agents` = json_object('', json_array(`latest_time`, `latest_idle`, `updated_at`));
