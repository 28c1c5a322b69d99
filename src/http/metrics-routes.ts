import { Elysia } from "elysia";
import type { RouteDeps } from "./deps.ts";
import { scraperGuard } from "./auth.ts";
import { opsDocs } from "./schemas.ts";

/**
 * GET /metrics   Prometheus text exposition (admin token, or the metrics bearer token)
 */
export function metricsRoutes({ relay, metrics, config }: RouteDeps) {
  return new Elysia({ name: "argybargy-metrics-routes" })
    .use(scraperGuard(relay, config))
    .get("/metrics", async () => {
      const { body, contentType } = await metrics.render();
      return new Response(body, { headers: { "content-type": contentType, "cache-control": "no-store" } });
    }, { scraper: true, ...opsDocs.metrics });
}
