CREATE TABLE "mercure_topics" (
	"tenant" text NOT NULL,
	"topic_hash" text NOT NULL,
	"topic" text NOT NULL,
	"updates" bigint NOT NULL,
	"last_event_id" bigint NOT NULL,
	"last_update_id" text NOT NULL,
	"last_type" text,
	"last_private" bigint NOT NULL,
	"last_published_at" bigint NOT NULL,
	CONSTRAINT "mercure_topics_tenant_topic_hash_pk" PRIMARY KEY("tenant","topic_hash")
);
--> statement-breakpoint
CREATE INDEX "mercure_topics_tenant_published_idx" ON "mercure_topics" USING btree ("tenant","last_published_at","last_event_id");