import { describe, expect, it } from "vitest";
import { ConfigError, isPostgresUrl, loadConfig, parseDuration } from "../src/config.js";

/** The ConfigError loadConfig throws for `env`; fails the test if it does not throw one. */
function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe("loadConfig defaults", () => {
  it("gives every setting its documented default on an empty environment", () => {
    expect(loadConfig({})).toEqual({
      PORT: 3000,
      DATABASE_URL: "./data/switchboard.db",
      SWITCHBOARD_DURABILITY: "full",
      SSE_HEARTBEAT_MS: 15_000,
      SSE_RETRY_MS: 2_000,
      SSE_MAX_BUFFER_BYTES: 1024 * 1024,
      SSE_MAX_QUEUED_BYTES: 64 * 1024 * 1024,
      SSE_RECENT_BYTES: 64 * 1024 * 1024,
      SSE_RECENT_MAX_AGE_MS: 10_000,
      SSE_COALESCE_MS: 2,
      SSE_COALESCE_MAX_MS: 16,
      SSE_MAX_STREAMS_PER_TENANT: 10_000,
      CONSOLE_MAX_PAGE_GROUPS_PER_TENANT: 100,
      MAX_EVENT_BYTES: 64 * 1024,
      MAX_BODY_BYTES: 16 * 1024 * 1024,
      MAX_BATCH_EVENTS: 1_000,
      MAX_BATCH_BYTES: 1024 * 1024,
      MAX_JSON_DEPTH: 64,
      MERCURE_ANONYMOUS_STREAMS_PER_ADDRESS: 16,
      PUBLISH_RATE_PER_KEY: 1000,
      PUBLISH_BURST_PER_KEY: 50_000,
      RETENTION_MAX_AGE: 30 * 86_400_000,
      RETENTION_MAX_EVENTS: 1_000_000,
      RETENTION_INTERVAL_MS: 60_000,
      PRESENCE_GRACE_MS: 10_000,
      COMMAND_TIMEOUT_MS: 30_000,
      SESSION_MAX_AGE: 12 * 3_600_000,
      ACCESS_CHECK_MS: 2_000,
      LOGIN_FAILURES_PER_ADDRESS: 10,
      LOGIN_FAILURE_WINDOW: 10 * 60_000,
      TRUST_PROXY: 0,
      LOG_LEVEL: "info",
    });
    const config = loadConfig({});
    expect(config.HOST).toBeUndefined();
    expect(config.SWITCHBOARD_ADMIN_KEY).toBeUndefined();
  });

  it("reads values from the environment as text, converting numbers", () => {
    const config = loadConfig({
      PORT: "8080",
      HOST: "127.0.0.1",
      DATABASE_URL: "/var/lib/switchboard/db.sqlite",
      SWITCHBOARD_ADMIN_KEY: "k".repeat(24),
      SWITCHBOARD_DURABILITY: "normal",
      SSE_HEARTBEAT_MS: "1000",
      SSE_RETRY_MS: "0",
      SSE_MAX_BUFFER_BYTES: "65536",
      RETENTION_MAX_EVENTS: "0",
      RETENTION_INTERVAL_MS: "100",
      LOG_LEVEL: "silent",
    });
    expect(config).toMatchObject({
      PORT: 8080,
      HOST: "127.0.0.1",
      DATABASE_URL: "/var/lib/switchboard/db.sqlite",
      SWITCHBOARD_ADMIN_KEY: "k".repeat(24),
      SWITCHBOARD_DURABILITY: "normal",
      SSE_HEARTBEAT_MS: 1000,
      SSE_RETRY_MS: 0,
      SSE_MAX_BUFFER_BYTES: 65536,
      RETENTION_MAX_EVENTS: 0,
      RETENTION_INTERVAL_MS: 100,
      LOG_LEVEL: "silent",
    });
  });

  it("rejects a global stream bound smaller than one stream's buffer", () => {
    const err = configError({ SSE_MAX_BUFFER_BYTES: String(4 * 1024 * 1024), SSE_MAX_QUEUED_BYTES: String(1024 * 1024) });
    expect(err.message).toMatch(/^\s+SSE_MAX_QUEUED_BYTES: must be at least SSE_MAX_BUFFER_BYTES/m);
  });

  it("rejects a batch bound smaller than one event's", () => {
    const err = configError({ MAX_EVENT_BYTES: String(64 * 1024), MAX_BATCH_BYTES: String(32 * 1024) });
    expect(err.message).toMatch(/^\s+MAX_BATCH_BYTES: must be at least MAX_EVENT_BYTES/m);
  });

  it("takes a TLS certificate only with its key, and the key only with its certificate", () => {
    expect(loadConfig({ SWITCHBOARD_TLS_CERT: "/etc/ssl/cert.pem", SWITCHBOARD_TLS_KEY: "/etc/ssl/key.pem" })).toMatchObject({
      SWITCHBOARD_TLS_CERT: "/etc/ssl/cert.pem",
      SWITCHBOARD_TLS_KEY: "/etc/ssl/key.pem",
    });
    expect(configError({ SWITCHBOARD_TLS_CERT: "/etc/ssl/cert.pem" }).message).toMatch(
      /^\s+SWITCHBOARD_TLS_KEY: must be set too when SWITCHBOARD_TLS_CERT is/m,
    );
    expect(configError({ SWITCHBOARD_TLS_KEY: "/etc/ssl/key.pem" }).message).toMatch(/^\s+SWITCHBOARD_TLS_CERT: must be set too when SWITCHBOARD_TLS_KEY is/m);
  });

  it("drops a file: prefix from DATABASE_URL", () => {
    expect(loadConfig({ DATABASE_URL: "file:./data/x.db" }).DATABASE_URL).toBe("./data/x.db");
    expect(loadConfig({ DATABASE_URL: "file:/abs/x.db" }).DATABASE_URL).toBe("/abs/x.db");
  });

  it("takes a PostgreSQL URL as a cluster's database, and refuses other schemes and incomplete URLs with the reason", () => {
    for (const url of ["postgres://u:p@db.internal:5432/switchboard", "postgresql://db/switchboard"]) {
      expect(loadConfig({ DATABASE_URL: url }).DATABASE_URL).toBe(url);
      expect(isPostgresUrl(url)).toBe(true);
    }
    expect(isPostgresUrl("./data/switchboard.db")).toBe(false);
    expect(() => loadConfig({ DATABASE_URL: "mysql://db/switchboard" })).toThrow(/DATABASE_URL: "mysql:\/\/" is not a database Switchboard knows/);
    expect(() => loadConfig({ DATABASE_URL: "postgres://db.internal:5432" })).toThrow(/DATABASE_URL: a PostgreSQL URL needs a host and a database name/);
  });

  it("ignores variables it does not know", () => {
    expect(loadConfig({ PATH: "/usr/bin", SOMETHING_ELSE: "x" })).toEqual(loadConfig({}));
  });

  it("treats empty strings as unset", () => {
    const empty = Object.fromEntries(
      ["PORT", "HOST", "DATABASE_URL", "SWITCHBOARD_ADMIN_KEY", "SWITCHBOARD_DURABILITY", "SSE_HEARTBEAT_MS", "RETENTION_MAX_AGE", "RETENTION_MAX_EVENTS", "LOG_LEVEL"].map((k) => [k, ""]),
    );
    expect(loadConfig(empty)).toEqual(loadConfig({}));
    // An empty admin key is "no key", not a key that is too short.
    expect(loadConfig({ SWITCHBOARD_ADMIN_KEY: "" }).SWITCHBOARD_ADMIN_KEY).toBeUndefined();
    expect(loadConfig({ PORT: "", RETENTION_MAX_AGE: undefined }).PORT).toBe(3000);
  });
});

describe("durations", () => {
  it("reads 30d, 12h, 15m, 90s, ms and bare milliseconds", () => {
    expect(parseDuration("30d")).toBe(30 * 24 * 3_600_000);
    expect(parseDuration("12h")).toBe(12 * 3_600_000);
    expect(parseDuration("15m")).toBe(15 * 60_000);
    expect(parseDuration("90s")).toBe(90_000);
    expect(parseDuration("250ms")).toBe(250);
    expect(parseDuration("1500")).toBe(1500);
    expect(parseDuration("0")).toBe(0);
    expect(parseDuration(" 7d ")).toBe(7 * 86_400_000);
  });

  it("returns null for anything else", () => {
    for (const bad of ["", "d", "30x", "1.5h", "-5s", "5 s", "30D", "1h30m", "forever", "0x10"]) expect(parseDuration(bad), bad).toBeNull();
  });

  it("applies to RETENTION_MAX_AGE, where 0 means keep forever", () => {
    expect(loadConfig({ RETENTION_MAX_AGE: "12h" }).RETENTION_MAX_AGE).toBe(43_200_000);
    expect(loadConfig({ RETENTION_MAX_AGE: "15m" }).RETENTION_MAX_AGE).toBe(900_000);
    expect(loadConfig({ RETENTION_MAX_AGE: "90s" }).RETENTION_MAX_AGE).toBe(90_000);
    expect(loadConfig({ RETENTION_MAX_AGE: "1s" }).RETENTION_MAX_AGE).toBe(1_000);
    expect(loadConfig({ RETENTION_MAX_AGE: "0" }).RETENTION_MAX_AGE).toBe(0);
    const err = configError({ RETENTION_MAX_AGE: "a month" });
    expect(err.message).toMatch(/RETENTION_MAX_AGE: "a month" is not a duration like 30d, 12h, 15m or 90s/);
  });
});

describe("invalid configuration", () => {
  it("throws one ConfigError naming every bad variable", () => {
    const err = configError({
      PORT: "abc",
      SWITCHBOARD_DURABILITY: "maybe",
      SSE_HEARTBEAT_MS: "10",
      RETENTION_MAX_AGE: "soon",
      LOG_LEVEL: "loud",
      SWITCHBOARD_ADMIN_KEY: "short",
      DATABASE_URL: "./fine.db",
    });
    expect(err.message).toMatch(/^invalid configuration:/);
    const named = err.message
      .split("\n")
      .slice(1)
      .map((l) => l.trim().split(":")[0])
      .sort();
    expect(named).toEqual(["LOG_LEVEL", "PORT", "RETENTION_MAX_AGE", "SSE_HEARTBEAT_MS", "SWITCHBOARD_ADMIN_KEY", "SWITCHBOARD_DURABILITY"]);
    expect(err.message).toMatch(/SWITCHBOARD_ADMIN_KEY: must be at least 24 characters/);
    expect(err.message).not.toMatch(/DATABASE_URL/);
  });

  it("rejects out-of-range and non-integer numbers", () => {
    for (const [name, value] of [
      ["PORT", "65536"],
      ["PORT", "-1"],
      ["PORT", "80.5"],
      ["SSE_HEARTBEAT_MS", "999"],
      ["SSE_RETRY_MS", "-1"],
      ["SSE_MAX_BUFFER_BYTES", "1024"],
      ["SSE_MAX_QUEUED_BYTES", "1024"],
      ["SSE_MAX_STREAMS_PER_TENANT", "0"],
      ["MAX_EVENT_BYTES", "100"],
      ["MAX_BODY_BYTES", "10"],
      ["MAX_BATCH_EVENTS", "0"],
      ["MAX_BATCH_BYTES", "1000"],
      ["RETENTION_MAX_EVENTS", "-1"],
      ["RETENTION_INTERVAL_MS", "99"],
      ["RETENTION_INTERVAL_MS", "ten"],
      ["ACCESS_CHECK_MS", "99"],
      ["LOGIN_FAILURES_PER_ADDRESS", "-1"],
      ["LOGIN_FAILURE_WINDOW", "0"],
      ["LOGIN_FAILURE_WINDOW", "soon"],
      ["TRUST_PROXY", "11"],
      ["TRUST_PROXY", "yes"],
    ]) {
      const err = configError({ [name]: value });
      expect(err.message, `${name}=${value}`).toMatch(new RegExp(`^\\s+${name}: `, "m"));
    }
  });

  it("accepts the boundary values", () => {
    expect(() =>
      loadConfig({ PORT: "0", SSE_HEARTBEAT_MS: "1000", SSE_MAX_BUFFER_BYTES: String(16 * 1024), MAX_EVENT_BYTES: "256", RETENTION_INTERVAL_MS: "100", SWITCHBOARD_ADMIN_KEY: "x".repeat(24) }),
    ).not.toThrow();
    expect(loadConfig({ PORT: "65535" }).PORT).toBe(65535);
  });
});

describe("the /.well-known/mercure hub", () => {
  const key = "k".repeat(32);

  it("serves no tenant by default, and reads the tenant, its HS256 key and the anonymous switch", () => {
    const none = loadConfig({});
    expect(none.SWITCHBOARD_MERCURE_TENANT).toBeUndefined();
    expect(none.SWITCHBOARD_MERCURE_JWT_KEY).toBeUndefined();
    expect(none.SWITCHBOARD_MERCURE_ANONYMOUS).toBeUndefined();
    expect(loadConfig({ SWITCHBOARD_MERCURE_TENANT: "acme", SWITCHBOARD_MERCURE_JWT_KEY: key, SWITCHBOARD_MERCURE_ANONYMOUS: "true" })).toMatchObject({
      SWITCHBOARD_MERCURE_TENANT: "acme",
      SWITCHBOARD_MERCURE_JWT_KEY: key,
      SWITCHBOARD_MERCURE_ANONYMOUS: true,
    });
    expect(loadConfig({ SWITCHBOARD_MERCURE_TENANT: "acme", SWITCHBOARD_MERCURE_ANONYMOUS: "false" }).SWITCHBOARD_MERCURE_ANONYMOUS).toBe(false);
  });

  it("refuses a tenant that is not a slug, a key shorter than 32 bytes and a switch that is not true or false", () => {
    expect(configError({ SWITCHBOARD_MERCURE_TENANT: "Acme Corp" }).message).toMatch(/^\s+SWITCHBOARD_MERCURE_TENANT: must be a tenant slug/m);
    expect(configError({ SWITCHBOARD_MERCURE_TENANT: "acme", SWITCHBOARD_MERCURE_JWT_KEY: "k".repeat(31) }).message).toMatch(
      /^\s+SWITCHBOARD_MERCURE_JWT_KEY: must be at least 32 bytes/m,
    );
    // Bytes, not characters: 16 two-byte characters are 32 bytes.
    expect(loadConfig({ SWITCHBOARD_MERCURE_TENANT: "acme", SWITCHBOARD_MERCURE_JWT_KEY: "é".repeat(16) }).SWITCHBOARD_MERCURE_JWT_KEY).toBe("é".repeat(16));
    expect(configError({ SWITCHBOARD_MERCURE_TENANT: "acme", SWITCHBOARD_MERCURE_ANONYMOUS: "yes" }).message).toMatch(/^\s+SWITCHBOARD_MERCURE_ANONYMOUS: must be true or false/m);
  });

  it("refuses the key or the switch without the tenant they apply to", () => {
    expect(configError({ SWITCHBOARD_MERCURE_JWT_KEY: key }).message).toMatch(/^\s+SWITCHBOARD_MERCURE_JWT_KEY: applies to the tenant \/.well-known\/mercure serves: set SWITCHBOARD_MERCURE_TENANT too/m);
    expect(configError({ SWITCHBOARD_MERCURE_ANONYMOUS: "true" }).message).toMatch(/^\s+SWITCHBOARD_MERCURE_ANONYMOUS: applies to the tenant/m);
  });
});
