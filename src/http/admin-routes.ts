import { Elysia } from "elysia";
import { VERSION } from "../config.ts";
import { parseIntParam } from "../relay/validate.ts";
import type { RouteDeps } from "./deps.ts";
import { baseUrl } from "./request.ts";
import { guards } from "./auth.ts";
import { optionalBody, requiredBody } from "./body.ts";
import { adminDocsFor } from "./schemas.ts";
import { iso, wireCode, wireMessage, wireOperatorMessage, wireReceipt, wireStatus } from "./wire.ts";

/**
 * GET  /admin/state                 dashboard snapshot
 * GET  /admin/stats                 counts
 * GET  /admin/audit                 audit log
 * GET  /admin/changes               change feed (long-poll)
 * POST /admin/invite                mint a code
 * POST /admin/revoke                revoke codes
 * POST /admin/say                   speak in a room
 * POST /admin/regenerate-token      rotate the admin token
 * POST /admin/rooms/:room/close     dismiss a room
 * POST /admin/rooms/:room/reopen    reopen it
 * POST /admin/rooms/:room/resume    lift the loop guard's pause
 * GET  /admin/messages/:room/:seq/receipts  every recipient's delivered and read times
 */
export function adminRoutes({ relay, operator, config, publicUrl, startedMs }: RouteDeps) {
  const docs = adminDocsFor(config);
  const urlFor = (request: Request) => publicUrl() ?? baseUrl(request);
  return new Elysia({ name: "argybargy-admin-routes" })
    .use(guards(relay, config.trustProxy))
    .get("/admin/state", async ({ query, request }) => {
      const before = query.before === undefined ? null : parseIntParam(query.before, "before", 0, 1);
      const s = await operator.state(query.room, before);
      return {
        version: VERSION,
        public_url: urlFor(request),
        hash_codes: config.hashCodes,
        peers: Object.fromEntries(Object.entries(s.peers).map(([room, rows]) => [room, rows.map((p) => ({ name: p.name, online: p.online, seconds_since_seen: p.secondsSinceSeen }))])),
        roster: Object.fromEntries(Object.entries(s.roster).map(([room, rows]) => [room, rows.map((r) => ({
          name: r.name, online: r.online, seconds_since_seen: r.secondsSinceSeen, last_message_seconds: r.lastMessageSeconds,
          capabilities: r.capabilities, sources: r.sources,
        }))])),
        codes: s.codes.map(wireCode),
        room: s.room,
        rooms: s.rooms.map((r) => ({
          room: r.room, messages: r.messages, last_seq: r.lastSeq, last_ts: iso(r.lastTsMs), seconds_since_last: r.secondsSinceLast,
          status: r.status.status, closed_at: iso(r.status.closedAtMs), closed_by: r.status.closedBy,
          paused: r.paused, agent_run: r.agentRun,
        })),
        room_status: Object.fromEntries(s.roomStatus.map((st) => [st.name, wireStatus(st)])),
        waiting: s.waiting.map((m) => ({ ...wireOperatorMessage(m), waiting_seconds: m.waitingSeconds })),
        max_idle_seconds: config.maxIdleSeconds,
        loop_guard: config.loopGuard,
        messages: s.messages.map(wireOperatorMessage),
      };
    }, { admin: true, ...docs.state })
    .get("/admin/stats", async () => {
      const s = await operator.stats(startedMs);
      return { version: VERSION, uptime_seconds: s.uptimeSeconds, online_peers: s.onlinePeers, codes: s.codes, messages: s.messages, rooms: s.rooms, parked_polls: s.parkedPolls, polling_agents: s.pollingAgents, open_streams: s.openStreams };
    }, { admin: true, ...docs.stats })
    .get("/admin/audit", async ({ query }) => {
      const limit = parseIntParam(query.limit, "limit", 100, 1, 1000);
      const events = await relay.store.listAudit(limit);
      return { events: events.map((e) => ({ ts: iso(e.tsMs), action: e.action, actor: e.actor, room: e.room, detail: e.detail })) };
    }, { admin: true, ...docs.audit })
    .get("/admin/changes", async ({ query, request, server }) => {
      const since = parseIntParam(query.since, "since", 0, 0);
      const wait = Math.min(parseIntParam(query.wait, "wait", 0, 0), config.maxWait);
      server?.timeout(request, Math.min(255, wait + 15));
      return (await operator.changes(since, wait, request.signal)) ?? new Response(null, { status: 499 });
    }, { admin: true, ...docs.changes })
    .post("/admin/invite", async ({ body, request }) => {
      const r = await operator.invite(requiredBody(body), urlFor(request));
      return { code: r.code, name: r.row.name, room: r.row.room, expires: iso(r.row.expiresMs), capabilities: r.row.capabilities, url: r.url, instruction: r.instruction };
    }, { admin: true, ...docs.invite })
    .post("/admin/revoke", async ({ body }) => ({ revoked: await operator.revoke(requiredBody(body)) }), { admin: true, ...docs.revoke })
    .post("/admin/say", async ({ body, request }) => ({
      ok: true, message: wireMessage(await operator.say(requiredBody(body), request.headers.get("idempotency-key"))),
    }), { admin: true, ...docs.say })
    .post("/admin/regenerate-token", async () => ({ admin_token: await operator.regenerateToken() }), { admin: true, ...docs.regenerate })
    .post("/admin/rooms/:room/close", async ({ params, body }) => ({ ok: true, room: wireStatus(await operator.setRoomOpen(roomParam(params.room), false, optionalBody(body))) }), { admin: true, ...docs.close })
    .post("/admin/rooms/:room/reopen", async ({ params, body }) => ({ ok: true, room: wireStatus(await operator.setRoomOpen(roomParam(params.room), true, optionalBody(body))) }), { admin: true, ...docs.reopen })
    .post("/admin/rooms/:room/resume", async ({ params }) => ({ ok: true, ...(await operator.resume(roomParam(params.room))) }), { admin: true, ...docs.resume })
    .get("/admin/messages/:room/:seq/receipts", async ({ params }) => {
      const r = await operator.receipts(roomParam(params.room), parseIntParam(params.seq ?? "", "seq", 0, Number.MIN_SAFE_INTEGER));
      return { room: r.room, seq: r.seq, receipts: r.receipts.map(wireReceipt) };
    }, { admin: true, ...docs.receipts });
}

/**
 * Elysia has already URL-decoded the path parameter (decoding again would turn `%2541` into `A`);
 * a malformed escape arrives as null, which is simply an invalid name.
 */
function roomParam(raw: string | null | undefined): string {
  return raw ?? "";
}
