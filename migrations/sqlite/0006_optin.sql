CREATE TABLE `optin_consent_ledger` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`app` text NOT NULL,
	`list_id` text NOT NULL,
	`number` text NOT NULL,
	`signup_id` text,
	`type` text NOT NULL,
	`channel` text NOT NULL,
	`ip` text,
	`user_agent` text,
	`source` text,
	`consent_text` text,
	`consent_text_version` text,
	`text` text,
	`text_sha256` text,
	`details` text
);
--> statement-breakpoint
CREATE INDEX `optin_consent_ledger_list_number_idx` ON `optin_consent_ledger` (`list_id`,`number`,`id`);--> statement-breakpoint
CREATE INDEX `optin_consent_ledger_at_idx` ON `optin_consent_ledger` (`at`);--> statement-breakpoint
CREATE TABLE `optin_ledger_retention` (
	`id` integer PRIMARY KEY NOT NULL,
	`purge_before` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE `optin_lists` (
	`id` text PRIMARY KEY NOT NULL,
	`app` text NOT NULL,
	`name` text NOT NULL,
	`brand` text NOT NULL,
	`sender` text NOT NULL,
	`window_seconds` integer NOT NULL,
	`templates` text NOT NULL,
	`help_contact` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `optin_lists_app_idx` ON `optin_lists` (`app`,`created_at`);--> statement-breakpoint
CREATE INDEX `optin_lists_sender_idx` ON `optin_lists` (`sender`,`created_at`);--> statement-breakpoint
CREATE TABLE `optin_subscribers` (
	`id` text PRIMARY KEY NOT NULL,
	`app` text NOT NULL,
	`list_id` text NOT NULL,
	`number` text NOT NULL,
	`status` text NOT NULL,
	`signup_id` text NOT NULL,
	`code_hash` text,
	`attempts` integer DEFAULT 0 NOT NULL,
	`max_attempts` integer NOT NULL,
	`locale` text NOT NULL,
	`requested_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`confirmed_at` integer,
	`unsubscribed_at` integer,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`list_id`) REFERENCES `optin_lists`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `optin_subscribers_list_number_idx` ON `optin_subscribers` (`list_id`,`number`);--> statement-breakpoint
CREATE INDEX `optin_subscribers_list_status_idx` ON `optin_subscribers` (`list_id`,`status`,`id`);--> statement-breakpoint
CREATE INDEX `optin_subscribers_status_expires_idx` ON `optin_subscribers` (`status`,`expires_at`);