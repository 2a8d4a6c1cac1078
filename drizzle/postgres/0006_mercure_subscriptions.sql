CREATE TABLE "mercure_subscriptions" (
	"tenant" text NOT NULL,
	"topic_hash" text NOT NULL,
	"topic" text NOT NULL,
	"collection_hash" text NOT NULL,
	"subscriber" text NOT NULL,
	"active" bigint NOT NULL,
	"node" text NOT NULL,
	"document" text NOT NULL,
	"last_event_id" bigint NOT NULL,
	"last_update_id" text NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "mercure_subscriptions_tenant_topic_hash_pk" PRIMARY KEY("tenant","topic_hash")
);
--> statement-breakpoint
CREATE INDEX "mercure_subscriptions_active_idx" ON "mercure_subscriptions" USING btree ("tenant","active","collection_hash","last_event_id");--> statement-breakpoint
CREATE INDEX "mercure_subscriptions_node_idx" ON "mercure_subscriptions" USING btree ("active","node");--> statement-breakpoint
CREATE INDEX "mercure_subscriptions_latest_idx" ON "mercure_subscriptions" USING btree ("tenant","last_event_id");