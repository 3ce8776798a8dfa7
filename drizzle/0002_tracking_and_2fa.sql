CREATE TABLE `backup_codes` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`code_hash` text NOT NULL,
	`used_at` integer,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `backup_codes_user_hash_uq` ON `backup_codes` (`user_id`,`code_hash`);--> statement-breakpoint
CREATE TABLE `mfa_challenges` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`token_hash` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`ip` text,
	`user_agent` text,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `mfa_challenges_hash_uq` ON `mfa_challenges` (`token_hash`);--> statement-breakpoint
CREATE INDEX `mfa_challenges_user_idx` ON `mfa_challenges` (`user_id`);--> statement-breakpoint
CREATE INDEX `mfa_challenges_expires_idx` ON `mfa_challenges` (`expires_at`);--> statement-breakpoint
CREATE TABLE `two_factor` (
	`user_id` text PRIMARY KEY NOT NULL,
	`secret_ciphertext` text NOT NULL,
	`enabled_at` integer,
	`last_used_step` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `org_settings` (
	`org_id` text PRIMARY KEY NOT NULL,
	`timezone` text DEFAULT 'UTC' NOT NULL,
	`week_start` text DEFAULT 'monday' NOT NULL,
	`timer_mode` text DEFAULT 'stop_previous' NOT NULL,
	`overlap_policy` text DEFAULT 'allow' NOT NULL,
	`idle_threshold_seconds` integer DEFAULT 300 NOT NULL,
	`pulsetime_seconds` integer DEFAULT 60 NOT NULL,
	`stale_timer_seconds` integer DEFAULT 3600 NOT NULL,
	`idle_alert_seconds` integer DEFAULT 1800 NOT NULL,
	`privacy_rules` text DEFAULT '[]' NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `projects` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`name` text NOT NULL,
	`color` text NOT NULL,
	`billable` integer DEFAULT false NOT NULL,
	`client_name` text,
	`archived_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `projects_org_name_uq` ON `projects` (`org_id`,`name`);--> statement-breakpoint
CREATE INDEX `projects_org_created_idx` ON `projects` (`org_id`,`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `tags` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`name` text NOT NULL,
	`archived_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `tags_org_name_uq` ON `tags` (`org_id`,`name`);--> statement-breakpoint
CREATE INDEX `tags_org_created_idx` ON `tags` (`org_id`,`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `time_entries` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`member_id` text NOT NULL,
	`project_id` text,
	`description` text DEFAULT '' NOT NULL,
	`billable` integer DEFAULT false NOT NULL,
	`start_at` integer NOT NULL,
	`end_at` integer,
	`source` text NOT NULL,
	`flag` text,
	`created_by` text,
	`deleted_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`member_id`) REFERENCES `memberships`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`created_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `time_entries_running_uq` ON `time_entries` (`member_id`) WHERE "time_entries"."end_at" IS NULL AND "time_entries"."deleted_at" IS NULL;--> statement-breakpoint
CREATE INDEX `time_entries_member_start_idx` ON `time_entries` (`member_id`,`start_at`);--> statement-breakpoint
CREATE INDEX `time_entries_org_start_idx` ON `time_entries` (`org_id`,`start_at`);--> statement-breakpoint
CREATE INDEX `time_entries_project_start_idx` ON `time_entries` (`project_id`,`start_at`);--> statement-breakpoint
CREATE TABLE `time_entry_tags` (
	`entry_id` text NOT NULL,
	`tag_id` text NOT NULL,
	PRIMARY KEY(`entry_id`, `tag_id`),
	FOREIGN KEY (`entry_id`) REFERENCES `time_entries`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`tag_id`) REFERENCES `tags`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `time_entry_tags_tag_idx` ON `time_entry_tags` (`tag_id`);--> statement-breakpoint
ALTER TABLE `memberships` ADD `display_name` text;--> statement-breakpoint
ALTER TABLE `memberships` ADD `timezone` text DEFAULT 'UTC' NOT NULL;--> statement-breakpoint
ALTER TABLE `memberships` ADD `status` text DEFAULT 'offline' NOT NULL;--> statement-breakpoint
ALTER TABLE `memberships` ADD `status_changed_at` integer;--> statement-breakpoint
ALTER TABLE `memberships` ADD `last_seen_at` integer;