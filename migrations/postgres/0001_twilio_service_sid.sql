ALTER TABLE "apps" ADD COLUMN "custom_codes" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "apps" ADD COLUMN "twilio_service_sid" text;--> statement-breakpoint
-- Hand-written: every existing app gets its Twilio Verify Service sid (`VA` + 32 random hex), as new rows do when inserted.
UPDATE "apps" SET "twilio_service_sid" = 'VA' || replace(gen_random_uuid()::text, '-', '') WHERE "twilio_service_sid" IS NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "apps_twilio_service_sid_idx" ON "apps" USING btree ("twilio_service_sid");