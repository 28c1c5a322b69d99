import { Elysia } from "elysia";
import { RelayError } from "../relay/errors.ts";
import { readBody } from "./body.ts";
import type { AppDeps } from "./deps.ts";
import { BASE_HEADERS, errorResponse, internalResponse, JSON_HEADERS, notFound } from "./errors.ts";
import { InFlight } from "./in-flight.ts";
import { PromMetrics } from "./metrics.ts";
import { pathOf, RouteTable } from "./route-table.ts";
import { mountRoutes } from "./router.ts";

export type { AppDeps, RouteDeps } from "./deps.ts";

/**
 * Builds the whole HTTP surface without listening (tests call `app.handle`). Order on every
 * request: 404/405 routing → 413 size → credentials → 422 input → endpoint rules (SPEC §1.2).
 */
export function createApp(deps: AppDeps) {
  const { config } = deps;
  const metrics = deps.metrics ?? new PromMetrics(config.metricsRooms, false);
  const inFlight = deps.inFlight ?? new InFlight();
  metrics.sample("http_requests_in_flight", () => inFlight.count);
  // Answers given before routing (CORS preflight, 404, 405, 413) never reach onAfterResponse.
  const early = (res: Response) => {
    inFlight.end();
    metrics.count("http_requests_total", 1, "unmatched", STATUS_CLASS[Math.floor(res.status / 100)] ?? "other");
    return res;
  };
  const table = new RouteTable();
  const cors = new Set(config.corsOrigins);
  const tooLarge = () => new RelayError("payload_too_large", `The request body is larger than ${config.bodyCap} bytes.`, { max_bytes: config.bodyCap });

  const app = new Elysia({ serve: { idleTimeout: Math.min(255, config.maxWait + 15), reusePort: false } })
    .onRequest(({ request, set }) => {
      inFlight.begin();
      Object.assign(set.headers, BASE_HEADERS);
      const origin = request.headers.get("origin");
      const corsHeaders: Record<string, string> = origin !== null && cors.has(origin) ? { "access-control-allow-origin": origin, vary: "Origin" } : {};
      Object.assign(set.headers, corsHeaders);
      if (cors.size && request.method === "OPTIONS" && request.headers.has("access-control-request-method")) {
        const allow: Record<string, string> = origin !== null && cors.has(origin)
          ? { "access-control-allow-methods": "GET, POST, OPTIONS", "access-control-allow-headers": "Authorization, Content-Type, X-Admin-Token, Last-Event-ID, Idempotency-Key, Mcp-Protocol-Version", "access-control-max-age": "600" }
          : {};
        return early(new Response(null, { status: 204, headers: { ...BASE_HEADERS, ...corsHeaders, ...allow } }));
      }
      const allowed = table.methodsFor(app.routes, pathOf(request.url));
      if (!allowed) return early(errorResponse(notFound(), corsHeaders));
      if (!allowed.includes(request.method)) {
        return early(errorResponse(new RelayError("method_not_allowed", `${request.method} is not allowed here; use ${allowed.join(" or ")}.`), { ...corsHeaders, allow: allowed.join(", ") }));
      }
      const declared = request.headers.get("content-length");
      if (declared !== null && Number(declared) > config.bodyCap) return early(errorResponse(tooLarge(), corsHeaders));
    })
    // Runs for routes that take a body, before the guards: so a chunked body over the cap is 413, never 401.
    .onParse(async ({ request }) => (await readBody(request, config.bodyCap)) ?? Promise.reject(tooLarge()))
    .onAfterHandle(({ set, response }) => {
      if (!(response instanceof Response)) Object.assign(set.headers, JSON_HEADERS);
    })
    .onError(({ code, error, set }) => {
      const headers = Object.fromEntries(Object.entries(set.headers).filter(([k]) => k.startsWith("access-control") || k === "vary")) as Record<string, string>;
      // A RelayError thrown by the body parser arrives wrapped in Elysia's ParseError.
      const relayError = error instanceof RelayError ? error : (error as { cause?: unknown })?.cause;
      // set.status mirrors the answer so onAfterResponse counts the right status class.
      let res: Response;
      if (relayError instanceof RelayError) res = errorResponse(relayError, headers);
      else if (code === "NOT_FOUND") res = errorResponse(notFound(), headers);
      else {
        const requestId = crypto.randomUUID();
        deps.logError(requestId, error);
        res = internalResponse(requestId);
      }
      set.status = res.status;
      return res;
    })
    .onAfterResponse(({ route, set, responseValue }) => {
      inFlight.end();
      const status = responseValue instanceof Response ? responseValue.status : typeof set.status === "number" ? set.status : 200;
      metrics.count("http_requests_total", 1, route || "unmatched", STATUS_CLASS[Math.floor(status / 100)] ?? "other");
    });
  return mountRoutes(app, { ...deps, metrics });
}

export type App = ReturnType<typeof createApp>;

/** Status classes as label values, precomputed so counting a request builds no string. */
const STATUS_CLASS: Record<number, string> = { 1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx" };
