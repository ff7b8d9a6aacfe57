CREATE TABLE `fallbacks` (
	`verification_id` text PRIMARY KEY NOT NULL,
	`state` text NOT NULL,
	`due_at` integer NOT NULL,
	`reason` text,
	`claimed_by` text,
	`claimed_at` integer,
	`completed_at` integer,
	`delivery_id` text
);
--> statement-breakpoint
CREATE INDEX `fallbacks_state_due_idx` ON `fallbacks` (`state`,`due_at`);--> statement-breakpoint
ALTER TABLE `deliveries` ADD `caller_id_prefix` text;--> statement-breakpoint
CREATE INDEX `deliveries_provider_message_idx` ON `deliveries` (`provider`,`provider_message_id`);