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
ALTER TABLE `verifications` ADD `transaction` text;