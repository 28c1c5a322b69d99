/**
 * The metrics port: what the relay and the transports count, without knowing how it is
 * exported. The catalog below is the one list of metrics; an exporter (src/http/metrics.ts)
 * builds its registry from it. Adding a metric is one catalog line plus the call that moves it.
 */

/** One catalog entry. `labels` are at most two, passed positionally (no object per call). */
export interface MetricSpec {
  kind: "counter" | "gauge" | "histogram";
  help: string;
  labels: readonly string[];
  /** Histogram bucket bounds in seconds. */
  buckets?: readonly number[];
}

/** Latency buckets (seconds) from 0.1 ms to 2.5 s: a wake-up is sub-millisecond alone, tens of ms in a crowd. */
export const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;

/**
 * Every metric argybargy exports (the exporter prefixes `argybargy_`). A label named `room`
 * is capped by the exporter (the first N rooms seen keep their names, the rest are "other").
 */
export const METRICS = {
  messages_posted_total: { kind: "counter", help: "Messages committed, by origin (agent or operator) and room.", labels: ["origin", "room"] },
  messages_delivered_total: { kind: "counter", help: "Messages returned to agents by polls, by room.", labels: ["room"] },
  polls_parked: { kind: "gauge", help: "Long-polls parked right now (agent polls and dashboard change feeds).", labels: [] },
  wake_latency_seconds: { kind: "histogram", help: "From a room change (post commit) to a parked poll's answer with the message.", labels: [], buckets: LATENCY_BUCKETS },
  claims_total: { kind: "counter", help: "Claim attempts by outcome (won, lost, not_claimable, not_found).", labels: ["outcome"] },
  rate_limited_total: { kind: "counter", help: "Requests refused with 429, by scope (post: the per-agent send limit; auth: the failed-auth throttle).", labels: ["scope"] },
  auth_failed_total: { kind: "counter", help: "Requests with a missing or wrong credential, by kind (agent, admin, metrics).", labels: ["kind"] },
  store_seconds: { kind: "histogram", help: "Duration of store calls as the relay sees them (a post includes its group-commit turn), by operation.", labels: ["op"], buckets: LATENCY_BUCKETS },
  http_requests_total: { kind: "counter", help: "HTTP requests answered, by route pattern and status class.", labels: ["route", "status"] },
  http_requests_in_flight: { kind: "gauge", help: "HTTP requests being handled right now (a parked poll until it answers, a stream until its first byte).", labels: [] },
  streams_open: { kind: "gauge", help: "SSE streams open right now (GET /messages/stream).", labels: [] },
  mcp_tool_calls_total: { kind: "counter", help: "MCP tool calls, by tool and outcome (ok, an error code such as rate_limited, or internal).", labels: ["tool", "outcome"] },
  mcp_tool_seconds: { kind: "histogram", help: "Duration of MCP tool calls, by tool (wait includes its parking).", labels: ["tool"], buckets: LATENCY_BUCKETS },
} as const satisfies Record<string, MetricSpec>;

/** Every catalog name; the kind-specific names below keep a counter from being observed as a histogram. */
export type MetricName = keyof typeof METRICS;
type Of<K extends MetricSpec["kind"]> = { [N in MetricName]: (typeof METRICS)[N]["kind"] extends K ? N : never }[MetricName];
/** Names of the catalog's counters. */
export type CounterName = Of<"counter">;
/** Names of the catalog's gauges. */
export type GaugeName = Of<"gauge">;
/** Names of the catalog's histograms. */
export type HistogramName = Of<"histogram">;

/**
 * What the domain and the transports call. Label values follow the catalog's order. Every
 * call is cheap enough for a hot path (no allocation in the exporter once a label pair is known).
 */
export interface Metrics {
  /** Adds `by` to a counter. */
  count(name: CounterName, by?: number, label1?: string, label2?: string): void;
  /** Adds `delta` (may be negative) to a gauge. */
  add(name: GaugeName, delta: number, label1?: string, label2?: string): void;
  /** Reads a gauge from `read()` at each scrape instead of keeping it up to date. */
  sample(name: GaugeName, read: () => number): void;
  /** Records one duration in seconds. */
  observe(name: HistogramName, seconds: number, label1?: string, label2?: string): void;
  /** A monotonic clock in milliseconds for durations (sub-millisecond resolution). */
  now(): number;
}

/** Metrics that go nowhere: the default when nothing exports them (tests, store verbs). */
export const NO_METRICS: Metrics = {
  count() {},
  add() {},
  sample() {},
  observe() {},
  now: () => 0,
};
