import { Elysia } from "elysia";
import type { Server } from "bun";
import type { Config } from "../config.ts";
import { RelayError } from "../relay/errors.ts";
import type { Operator } from "../relay/operator.ts";
import type { Relay } from "../relay/relay.ts";
import { adminRoutes } from "./admin-routes.ts";
import { agentRoutes } from "./agent-routes.ts";
import { readBody } from "./body.ts";
import { dashboardRoutes } from "./dashboard-routes.ts";
import { docsRoutes } from "./docs-routes.ts";
import { BASE_HEADERS, errorResponse, internalResponse, JSON_HEADERS, notFound } from "./errors.ts";
import { pathOf, RouteTable } from "./route-table.ts";

export interface AppDeps {
  relay: Relay;
  operator: Operator;
  config: Config;
  /** The tunnel URL from url.txt, when there is one (SPEC §1.1 "public URL"). */
  publicUrl: () => string | null;
  startedMs: number;
  /** Where unexpected errors go, with their request id; never called for a client's mistake. */
  logError: (requestId: string, err: unknown) => void;
}

/** Route modules share this context. */
export type RouteDeps = AppDeps;

/**
 * Builds the whole HTTP surface without listening (tests call `app.handle`). Order on every
 * request: 404/405 routing → 413 size → credentials → 422 input → endpoint rules (SPEC §1.2).
 */
export function createApp(deps: AppDeps) {
  const { config } = deps;
  const table = new RouteTable();
  const cors = new Set(config.corsOrigins);
  const tooLarge = () => new RelayError("payload_too_large", `The request body is larger than ${config.bodyCap} bytes.`, { max_bytes: config.bodyCap });

  const app = new Elysia({ serve: { idleTimeout: Math.min(255, config.maxWait + 15), reusePort: false } })
    .onRequest(({ request, set }) => {
      Object.assign(set.headers, BASE_HEADERS);
      const origin = request.headers.get("origin");
      const corsHeaders: Record<string, string> = origin !== null && cors.has(origin) ? { "access-control-allow-origin": origin, vary: "Origin" } : {};
      Object.assign(set.headers, corsHeaders);
      if (cors.size && request.method === "OPTIONS" && request.headers.has("access-control-request-method")) {
        const allow: Record<string, string> = origin !== null && cors.has(origin)
          ? { "access-control-allow-methods": "GET, POST, OPTIONS", "access-control-allow-headers": "Authorization, Content-Type, X-Admin-Token", "access-control-max-age": "600" }
          : {};
        return new Response(null, { status: 204, headers: { ...BASE_HEADERS, ...corsHeaders, ...allow } });
      }
      const allowed = table.methodsFor(app.routes, pathOf(request.url));
      if (!allowed) return errorResponse(notFound(), corsHeaders);
      if (!allowed.includes(request.method)) {
        return errorResponse(new RelayError("method_not_allowed", `${request.method} is not allowed here; use ${allowed.join(" or ")}.`), { ...corsHeaders, allow: allowed.join(", ") });
      }
      const declared = request.headers.get("content-length");
      if (declared !== null && Number(declared) > config.bodyCap) return errorResponse(tooLarge(), corsHeaders);
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
      if (relayError instanceof RelayError) return errorResponse(relayError, headers);
      if (code === "NOT_FOUND") return errorResponse(notFound(), headers);
      const requestId = crypto.randomUUID();
      deps.logError(requestId, error);
      return internalResponse(requestId);
    })
    .use(agentRoutes(deps))
    .use(adminRoutes(deps))
    .use(dashboardRoutes());
  if (config.docs) app.use(docsRoutes(deps));
  return app;
}

export type App = ReturnType<typeof createApp>;

/**
 * The client address used by the failed-auth throttle: the socket peer, or `CF-Connecting-IP`
 * when the peer is loopback (the local cloudflared tunnel) (SPEC §7.8).
 */
export function clientIp(request: Request, server: Server<unknown> | null | undefined): string {
  const peer = server?.requestIP(request)?.address ?? "local";
  const loopback = peer === "local" || peer === "::1" || peer.startsWith("127.") || peer.startsWith("::ffff:127.");
  const forwarded = request.headers.get("cf-connecting-ip")?.trim();
  return loopback && forwarded ? forwarded.slice(0, 64) : peer;
}

/**
 * The base URL of a request (SPEC §1.1): X-Forwarded-Proto/Host when present, else the
 * connection's scheme and Host; no trailing slash.
 */
export function baseUrl(request: Request): string {
  const url = new URL(request.url);
  const proto = request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase();
  const scheme = proto === "http" || proto === "https" ? proto : url.protocol.replace(":", "");
  const host = request.headers.get("x-forwarded-host")?.split(",")[0]?.trim() || request.headers.get("host") || url.host;
  return `${scheme}://${host}`;
}
