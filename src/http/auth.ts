import { Elysia } from "elysia";
import type { Relay } from "../relay/relay.ts";
import { clientIp } from "./request.ts";

/**
 * Route guards, declared on the route line: `{ agent: true }` resolves the bearer code to
 * `agent`; `{ admin: true }` checks `X-Admin-Token`. Both throw 401/429 before any input is read.
 */
export function guards(relay: Relay, trustProxy = false) {
  return new Elysia({ name: "argybargy-guards" }).macro({
    agent: {
      async resolve({ request, server }) {
        return { agent: await relay.authenticate(request.headers.get("authorization"), clientIp(request, server, trustProxy)) };
      },
    },
    admin: {
      async resolve({ request, server }) {
        await relay.authenticateAdmin(request.headers.get("x-admin-token"), clientIp(request, server, trustProxy));
        return {};
      },
    },
  });
}
