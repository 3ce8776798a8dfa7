DROP INDEX `activity_hours_member_hour_cover_idx`;--> statement-breakpoint
CREATE INDEX `time_entries_member_end_idx` ON `time_entries` (`member_id`,`end_at`,`start_at`) WHERE "time_entries"."deleted_at" IS NULL AND "time_entries"."end_at" IS NOT NULL;--> statement-breakpoint
-- activity_hours becomes a WITHOUT ROWID table (hand-written: drizzle-kit cannot declare it): rows in
-- primary-key order, so a member's hours are one contiguous range and no covering index is needed.
CREATE TABLE `__new_activity_hours` (
	`member_id` text NOT NULL,
	`hour` integer NOT NULL,
	`org_id` text NOT NULL,
	`active_ms` integer NOT NULL,
	`idle_ms` integer NOT NULL,
	PRIMARY KEY(`member_id`, `hour`),
	FOREIGN KEY (`member_id`) REFERENCES `memberships`(`id`) ON UPDATE no action ON DELETE cascade
) WITHOUT ROWID;--> statement-breakpoint
INSERT INTO `__new_activity_hours` (`member_id`, `hour`, `org_id`, `active_ms`, `idle_ms`)
  SELECT `member_id`, `hour`, `org_id`, `active_ms`, `idle_ms` FROM `activity_hours`;--> statement-breakpoint
DROP TABLE `activity_hours`;--> statement-breakpoint
ALTER TABLE `__new_activity_hours` RENAME TO `activity_hours`;
