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
CREATE TABLE `factor_recovery_codes` (
	`id` text PRIMARY KEY NOT NULL,
	`factor_id` text NOT NULL,
	`code_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`used_at` integer,
	FOREIGN KEY (`factor_id`) REFERENCES `factors`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `factor_recovery_codes_factor_hash_idx` ON `factor_recovery_codes` (`factor_id`,`code_hash`);--> statement-breakpoint
CREATE TABLE `factors` (
	`id` text PRIMARY KEY NOT NULL,
	`app` text NOT NULL,
	`user` text NOT NULL,
	`type` text NOT NULL,
	`status` text NOT NULL,
	`label` text NOT NULL,
	`issuer` text NOT NULL,
	`secret_sealed` text NOT NULL,
	`last_step` integer,
	`attempts` integer DEFAULT 0 NOT NULL,
	`max_attempts` integer NOT NULL,
	`locked_until` integer,
	`created_at` integer NOT NULL,
	`verified_at` integer,
	`last_used_at` integer
);
--> statement-breakpoint
CREATE INDEX `factors_app_user_idx` ON `factors` (`app`,`user`,`created_at`);--> statement-breakpoint
CREATE TABLE `app_limits` (
	`app` text PRIMARY KEY NOT NULL,
	`overrides` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `blocklist` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`value` text NOT NULL,
	`action` text NOT NULL,
	`reason` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer
);
--> statement-breakpoint
CREATE INDEX `blocklist_kind_value_idx` ON `blocklist` (`kind`,`value`);--> statement-breakpoint
CREATE TABLE `rate_counters` (
	`key` text PRIMARY KEY NOT NULL,
	`points` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `rate_counters_expires_idx` ON `rate_counters` (`expires_at`);--> statement-breakpoint
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
CREATE INDEX `optin_subscribers_status_expires_idx` ON `optin_subscribers` (`status`,`expires_at`);--> statement-breakpoint
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
	`caller_id_prefix` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `deliveries_verification_idx` ON `deliveries` (`verification_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `deliveries_provider_message_idx` ON `deliveries` (`provider`,`provider_message_id`);--> statement-breakpoint
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
	`number_hash` text,
	`number_enc` text,
	`prefix` text,
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
CREATE INDEX `events_kind_at_idx` ON `events` (`kind`,`at`);--> statement-breakpoint
CREATE INDEX `events_number_hash_at_idx` ON `events` (`number_hash`,`at`);--> statement-breakpoint
CREATE INDEX `events_prefix_at_idx` ON `events` (`prefix`,`at`);--> statement-breakpoint
CREATE INDEX `events_ip_at_idx` ON `events` (`ip`,`at`);--> statement-breakpoint
CREATE INDEX `events_country_at_idx` ON `events` (`country`,`at`);--> statement-breakpoint
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
	`end_user_device_id` text,
	`transaction` text
);
--> statement-breakpoint
CREATE INDEX `verifications_app_to_created_idx` ON `verifications` (`app`,`to`,`created_at`);