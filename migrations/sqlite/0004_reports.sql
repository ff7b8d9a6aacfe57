ALTER TABLE `events` ADD `number_hash` text;--> statement-breakpoint
ALTER TABLE `events` ADD `number_enc` text;--> statement-breakpoint
ALTER TABLE `events` ADD `prefix` text;--> statement-breakpoint
CREATE INDEX `events_kind_at_idx` ON `events` (`kind`,`at`);--> statement-breakpoint
CREATE INDEX `events_number_hash_at_idx` ON `events` (`number_hash`,`at`);--> statement-breakpoint
CREATE INDEX `events_prefix_at_idx` ON `events` (`prefix`,`at`);--> statement-breakpoint
CREATE INDEX `events_ip_at_idx` ON `events` (`ip`,`at`);--> statement-breakpoint
CREATE INDEX `events_country_at_idx` ON `events` (`country`,`at`);