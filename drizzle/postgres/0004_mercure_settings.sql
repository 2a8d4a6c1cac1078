CREATE TABLE "mercure_settings" (
	"tenant" text PRIMARY KEY NOT NULL,
	"publisher_alg" text,
	"publisher_key" text,
	"subscriber_alg" text,
	"subscriber_key" text,
	"anonymous" bigint DEFAULT 0 NOT NULL,
	"subscriptions" bigint DEFAULT 0 NOT NULL,
	"cors_origins" text DEFAULT '[]' NOT NULL,
	"issuer" text,
	"audience" text,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "mercure_settings" ADD CONSTRAINT "mercure_settings_tenant_tenants_slug_fk" FOREIGN KEY ("tenant") REFERENCES "public"."tenants"("slug") ON DELETE no action ON UPDATE no action;