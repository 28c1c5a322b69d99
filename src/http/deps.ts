import type { Config } from "../config.ts";
import type { Operator } from "../relay/operator.ts";
import type { Relay } from "../relay/relay.ts";
import type { InFlight } from "./in-flight.ts";
import type { PromMetrics } from "./metrics.ts";

/** What the HTTP layer is built from; every route module takes this one object. */
export interface AppDeps {
  relay: Relay;
  operator: Operator;
  config: Config;
  /** The tunnel URL from url.txt, when there is one (SPEC §1.1 "public URL"). */
  publicUrl: () => string | null;
  startedMs: number;
  /** Where unexpected errors go, with their request id; never called for a client's mistake. */
  logError: (requestId: string, err: unknown) => void;
  /** Whether the database answers (GET /health says 503 when not); absent = always. */
  storeHealthy?: () => Promise<boolean>;
  /** The registry `/metrics` exposes (give the Relay the same one); a private one when absent. */
  metrics?: PromMetrics;
  /** Counts the requests being handled (shutdown waits for them); a private one when absent. */
  inFlight?: InFlight;
}

/** Route modules share this context: AppDeps with the metrics registry always present. */
export type RouteDeps = AppDeps & { metrics: PromMetrics };
