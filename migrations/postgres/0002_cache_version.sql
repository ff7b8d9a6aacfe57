-- Hand-written: the version of the data instances cache in memory (apps, API keys, per-app limits, the blocklist). A trigger on each cached table moves it and notifies channel otp_cache, whoever writes (an instance, the CLI, psql); instances drop their caches on the notification, and a poll of the row catches a missed one (storage/postgres/cache-version.ts).
CREATE TABLE "cache_version" ("id" integer PRIMARY KEY NOT NULL, "version" bigint NOT NULL);--> statement-breakpoint
INSERT INTO "cache_version" ("id", "version") VALUES (1, 0);--> statement-breakpoint
CREATE FUNCTION "otp_cache_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "cache_version" SET "version" = "version" + 1 WHERE "id" = 1;
  PERFORM pg_notify('otp_cache', TG_TABLE_NAME);
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "apps_cache_changed" AFTER INSERT OR UPDATE OR DELETE ON "apps" FOR EACH ROW EXECUTE FUNCTION "otp_cache_changed"();--> statement-breakpoint
CREATE TRIGGER "api_keys_cache_changed" AFTER INSERT OR UPDATE OR DELETE ON "api_keys" FOR EACH ROW EXECUTE FUNCTION "otp_cache_changed"();--> statement-breakpoint
CREATE TRIGGER "app_limits_cache_changed" AFTER INSERT OR UPDATE OR DELETE ON "app_limits" FOR EACH ROW EXECUTE FUNCTION "otp_cache_changed"();--> statement-breakpoint
CREATE TRIGGER "blocklist_cache_changed" AFTER INSERT OR UPDATE OR DELETE ON "blocklist" FOR EACH ROW EXECUTE FUNCTION "otp_cache_changed"();
