CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`app` text NOT NULL,
	`scopes` text NOT NULL,
	`secret_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE INDEX `api_keys_app_idx` ON `api_keys` (`app`);--> statement-breakpoint
CREATE TABLE `apps` (
	`name` text PRIMARY KEY NOT NULL,
	`brand` text,
	`code_length` integer,
	`web_otp_domain` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`verification_id` text NOT NULL,
	`channel` text NOT NULL,
	`provider` text NOT NULL,
	`status` text NOT NULL,
	`code_hash` text NOT NULL,
	`provider_message_id` text,
	`error_code` text,
	`error_message` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `deliveries_verification_idx` ON `deliveries` (`verification_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`app` text,
	`kind` text NOT NULL,
	`reason` text NOT NULL,
	`rule` text,
	`details` text,
	`channel` text,
	`provider` text,
	`provider_error` text,
	`number` text,
	`country` text,
	`number_type` text,
	`ip` text,
	`user_agent` text,
	`verification_id` text
);
--> statement-breakpoint
CREATE INDEX `events_at_idx` ON `events` (`at`);--> statement-breakpoint
CREATE INDEX `events_reason_at_idx` ON `events` (`reason`,`at`);--> statement-breakpoint
CREATE INDEX `events_app_at_idx` ON `events` (`app`,`at`);--> statement-breakpoint
CREATE INDEX `events_verification_idx` ON `events` (`verification_id`);--> statement-breakpoint
CREATE TABLE `signing_keys` (
	`kid` text PRIMARY KEY NOT NULL,
	`alg` text NOT NULL,
	`private_jwk` text NOT NULL,
	`public_jwk` text NOT NULL,
	`created_at` integer NOT NULL,
	`retired_at` integer
);
--> statement-breakpoint
CREATE TABLE `verifications` (
	`id` text PRIMARY KEY NOT NULL,
	`app` text NOT NULL,
	`to` text NOT NULL,
	`country` text,
	`requested_channel` text NOT NULL,
	`channel` text NOT NULL,
	`status` text NOT NULL,
	`purpose` text,
	`locale` text NOT NULL,
	`code_length` integer NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`max_attempts` integer NOT NULL,
	`sends` integer DEFAULT 0 NOT NULL,
	`max_sends` integer NOT NULL,
	`last_sent_at` integer,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`approved_at` integer,
	`approved_channel` text,
	`canceled_at` integer,
	`client_ip` text,
	`end_user_ip` text,
	`end_user_agent` text,
	`end_user_device_id` text
);
--> statement-breakpoint
CREATE INDEX `verifications_app_to_created_idx` ON `verifications` (`app`,`to`,`created_at`);