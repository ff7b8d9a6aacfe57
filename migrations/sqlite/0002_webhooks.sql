CREATE TABLE `webhook_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`endpoint_id` text NOT NULL,
	`app` text NOT NULL,
	`event_id` text NOT NULL,
	`event_type` text NOT NULL,
	`body` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`last_status` integer,
	`last_error` text,
	`last_response` text,
	`lease_owner` text,
	`lease_until` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`delivered_at` integer
);
--> statement-breakpoint
CREATE INDEX `webhook_deliveries_due_idx` ON `webhook_deliveries` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_endpoint_idx` ON `webhook_deliveries` (`endpoint_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `webhook_endpoints` (
	`id` text PRIMARY KEY NOT NULL,
	`app` text NOT NULL,
	`url` text NOT NULL,
	`events` text NOT NULL,
	`secret_enc` text NOT NULL,
	`previous_secret_enc` text,
	`previous_until` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `webhook_endpoints_app_idx` ON `webhook_endpoints` (`app`);--> statement-breakpoint
ALTER TABLE `events` ADD `webhook` text;--> statement-breakpoint
-- Hand-written: the outbox fan-out. An event record written with a webhook entry ({id, type, body},
-- src/events/webhooks.ts) becomes one delivery per endpoint of its app subscribed to its type, in
-- the same statement as the record (so in the same transaction as the change it describes); the
-- entry itself is then cleared from the record.
CREATE TRIGGER `events_webhook_fan_out` AFTER INSERT ON `events` FOR EACH ROW WHEN NEW.`webhook` IS NOT NULL
BEGIN
  INSERT INTO `webhook_deliveries` (`id`, `endpoint_id`, `app`, `event_id`, `event_type`, `body`, `status`, `attempts`, `next_attempt_at`, `created_at`, `updated_at`)
  SELECT json_extract(NEW.`webhook`, '$.id') || '.' || e.`id`, e.`id`, NEW.`app`, json_extract(NEW.`webhook`, '$.id'), json_extract(NEW.`webhook`, '$.type'), json_extract(NEW.`webhook`, '$.body'), 'pending', 0, NEW.`at`, NEW.`at`, NEW.`at`
  FROM `webhook_endpoints` e
  WHERE e.`app` = NEW.`app` AND (e.`events` = '*' OR instr(',' || e.`events` || ',', ',' || json_extract(NEW.`webhook`, '$.type') || ',') > 0);
  UPDATE `events` SET `webhook` = NULL WHERE `id` = NEW.`id`;
END;
