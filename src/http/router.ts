import type { Elysia } from "elysia";
import { adminRoutes } from "./admin-routes.ts";
import { agentRoutes } from "./agent-routes.ts";
import { dashboardRoutes } from "./dashboard-routes.ts";
import type { RouteDeps } from "./deps.ts";
import { docsRoutes } from "./docs-routes.ts";
import { metricsRoutes } from "./metrics-routes.ts";
import { streamRoutes } from "./stream-routes.ts";
import { mcpRoutes } from "./mcp-routes.ts";

/**
 * THE list of route groups (the one place a new transport is added). `createApp` calls it
 * once, after its request hooks, so every group gets routing, size, header and error handling.
 */
export function mountRoutes<A extends Elysia<any, any, any, any, any, any, any>>(app: A, deps: RouteDeps): A {
  app.use(agentRoutes(deps)).use(streamRoutes(deps)).use(mcpRoutes(deps)).use(adminRoutes(deps)).use(metricsRoutes(deps)).use(dashboardRoutes());
  if (deps.config.docs) app.use(docsRoutes(deps));
  return app;
}
