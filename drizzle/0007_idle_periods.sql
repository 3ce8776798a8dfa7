CREATE TABLE `idle_periods` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`member_id` text NOT NULL,
	`entry_id` text NOT NULL,
	`start_at` integer NOT NULL,
	`end_at` integer,
	`status` text DEFAULT 'open' NOT NULL,
	`detected_at` integer NOT NULL,
	`resolved_at` integer,
	`resolved_by` text,
	`new_entry_id` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`member_id`) REFERENCES `memberships`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`entry_id`) REFERENCES `time_entries`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`resolved_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `idle_periods_ongoing_uq` ON `idle_periods` (`member_id`) WHERE "idle_periods"."end_at" IS NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `idle_periods_entry_start_uq` ON `idle_periods` (`entry_id`,`start_at`);--> statement-breakpoint
CREATE INDEX `idle_periods_member_start_idx` ON `idle_periods` (`member_id`,`start_at`);--> statement-breakpoint
CREATE INDEX `idle_periods_org_start_idx` ON `idle_periods` (`org_id`,`start_at`);--> statement-breakpoint
ALTER TABLE `org_settings` ADD `idle_alert_email` integer DEFAULT false NOT NULL;