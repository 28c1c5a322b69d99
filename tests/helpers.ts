import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, type Config } from "../src/config.ts";
import { createApp } from "../src/http/app.ts";
import { InFlight } from "../src/http/in-flight.ts";
import { PromMetrics } from "../src/http/metrics.ts";
import { LocalBus } from "../src/relay/bus.ts";
import { Operator } from "../src/relay/operator.ts";
import { Relay } from "../src/relay/relay.ts";
import type { BulkStore, Store } from "../src/relay/ports.ts";
import { PgSharedState } from "../src/store/pg-shared.ts";
import { PgStore } from "../src/store/postgres.ts";
import { timedStore } from "../src/relay/timed-store.ts";
import { SqliteStore } from "../src/store/sqlite.ts";
import { testDatabaseUrlSync, withSchema } from "./pg-cluster.ts";

/** Real time plus an offset that tests move forward instead of sleeping. */
export class TestClock {
  offsetMs = 0;
  private frozenMs: number | null = null;
  now(): number {
    return (this.frozenMs ?? Date.now()) + this.offsetMs;
  }
  /** Stops real time (only `advance` moves the clock), for exact timestamps; never with a parked poll (wait > 0). */
  freeze(): void {
    this.frozenMs = Date.now();
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = "argy-test-"): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * Which store the relay-level helpers use: "postgres" when ARGYBARGY_TEST_STORE=postgres
 * (scripts/test runs tests/http a second time so), else "sqlite".
 */
export const TEST_STORE: "sqlite" | "postgres" = process.env.ARGYBARGY_TEST_STORE === "postgres" ? "postgres" : "sqlite";

/** A database URL whose `?schema=` no other test uses (PostgreSQL runs only). */
export function freshDatabaseUrl(): string {
  return withSchema(testDatabaseUrlSync());
}

/** A fresh, empty store of the kind TEST_STORE names (PostgreSQL: its own schema, migrated on first use). */
export function newTestStore(): Store & BulkStore {
  return TEST_STORE === "postgres" ? new PgStore(freshDatabaseUrl(), { max: 3, idleSeconds: 2 }) : SqliteStore.open(":memory:");
}

/**
 * The default Config with ARGYBARGY_* overrides given as environment strings. The loop guard is
 * off unless a test sets ARGYBARGY_LOOP_GUARD: many tests post far more than 50 agent messages.
 * In PostgreSQL runs it points servers started from it at a fresh schema, unless the test sets a database.
 */
export function testConfig(env: Record<string, string> = {}, dataDir = "/nonexistent-test-data"): Config {
  const db = TEST_STORE === "postgres" && env.ARGYBARGY_DATABASE_URL === undefined ? { ARGYBARGY_DATABASE_URL: freshDatabaseUrl() } : {};
  return loadConfig({}, { ARGYBARGY_DATA: dataDir, ARGYBARGY_LOOP_GUARD: "0", ...db, ...env }).config;
}

/** Commit options of an agent post without quota or key (`relay.commit(draft, AGENT_POST)`). */
export const AGENT_POST = { refuseIfClosed: true, maxRooms: 0, byOperator: false, idempotency: null } as const;
/** The issue-10 fields of a store insert, off: no thread, no loop guard, no key. */
export const INSERT_DEFAULTS = { replyTo: null, thread: null, byOperator: false, loopGuard: 0, idempotency: null } as const;

export const ADMIN_TOKEN = "test-admin-token-0123456789abcdef";

/** A Relay and Operator on a fresh database (the real store of TEST_STORE, no mocks), counting into `metrics`. */
export function newTestRelay(env: Record<string, string> = {}) {
  const config = testConfig(env);
  const store = newTestStore();
  const clock = new TestClock();
  // On PostgreSQL the relay keeps what instances share (rate, presence, throttle, token) in the database, as `serve` does.
  const shared = store instanceof PgStore ? new PgSharedState(store) : undefined;
  const metrics = new PromMetrics(config.metricsRooms, false);
  const relay = new Relay({ store: timedStore(store, metrics), metrics, bus: new LocalBus(), shared, clock, limits: config, adminToken: ADMIN_TOKEN });
  let savedToken: string | null = null;
  const operator = new Operator(relay, {
    save: async (t) => {
      savedToken = t;
      await shared?.saveAdminToken(t, false);
    },
  });
  return { config, store, clock, relay, operator, metrics, savedToken: () => savedToken };
}

/** A response's status, headers, text and parsed JSON (null when the body is empty or not JSON). */
export async function readAnswer(res: Response): Promise<{ status: number; headers: Headers; text: string; json: any }> {
  const text = await res.text();
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** An in-process app (never listening) with helpers to call it as a guest, an agent or the admin. */
export function newTestApp(env: Record<string, string> = {}) {
  const t = newTestRelay(env);
  const errors: unknown[] = [];
  const inFlight = new InFlight();
  const app = createApp({
    relay: t.relay, operator: t.operator, config: t.config, metrics: t.metrics, inFlight, startedMs: Date.now(), publicUrl: () => null,
    logError: (_id, err) => errors.push(err),
  });
  /** Sends a request; `body` objects are JSON-encoded, strings sent as they are. */
  const req = async (method: string, path: string, opts: { body?: unknown; headers?: Record<string, string> } = {}) => {
    const body = opts.body === undefined ? undefined : typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
    return readAnswer(await app.handle(new Request(`http://localhost${path}`, { method, body, headers: opts.headers })));
  };
  const admin = (method: string, path: string, body?: unknown) => req(method, path, { body, headers: { "x-admin-token": ADMIN_TOKEN } });
  /** Mints a code through the API and returns a caller bound to it. */
  const invite = async (name: string, room = "default", extra: Record<string, unknown> = {}) => {
    const r = await admin("POST", "/admin/invite", { name, room, ...extra });
    if (r.status !== 200) throw new Error(`invite ${name} failed: ${r.status} ${r.text}`);
    return asAgent(r.json.code as string);
  };
  const asAgent = (code: string) => ({
    code,
    req: (method: string, path: string, body?: unknown) => req(method, path, { body, headers: { authorization: `Bearer ${code}` } }),
  });
  return { ...t, app, req, admin, invite, asAgent, errors, inFlight };
}
