import { Elysia } from "elysia";
import { RelayError } from "../relay/errors.ts";
import { parseIntParam } from "../relay/validate.ts";
import { VERSION } from "../config.ts";
import type { RouteDeps } from "./deps.ts";
import { baseUrl } from "./request.ts";
import { guards } from "./auth.ts";
import { lenientBody, requiredBody } from "./body.ts";
import { BASE_HEADERS, errorResponse } from "./errors.ts";
import { manifestText } from "./llms.ts";
import { manifest } from "./manifest.ts";
import { agentDocsFor } from "./schemas.ts";
import { iso, wireBudget, wireMessage, wireReadMessage, wireReceipt, wireReopened, wireStatus } from "./wire.ts";
import { parseThreadParam } from "../relay/threads.ts";

/**
 * GET /            manifest (public)
 * GET /llms.txt    the manifest as plain text (public)
 * GET /health      liveness (public)
 * GET /whoami      the caller's identity
 * GET /peers       presence in the caller's room
 * POST /messages   send
 * GET /messages    long-poll receive
 * GET /messages/position  the caller's durable delivered and read positions
 * POST /messages/ack  raise the caller's read position
 * POST /messages/:seq/claim  take an open question (a lease of ttl_s)
 * POST /messages/:seq/claim/renew    the holder extends its lease
 * POST /messages/:seq/claim/release  the holder gives the question back
 * GET /messages/:seq/receipts  who a message was for, delivered and read when
 * GET /history     what the caller may see, newest last (one thread with ?thread=)
 */
export function agentRoutes({ relay, config, storeHealthy }: RouteDeps) {
  const agentDocs = agentDocsFor(config);
  return new Elysia({ name: "argybargy-agent-routes" })
    .use(guards(relay, config.trustProxy))
    .get("/", ({ request }) => manifest(baseUrl(request), config), agentDocs.manifest)
    .get("/llms.txt", ({ request }) => new Response(manifestText(manifest(baseUrl(request), config)), {
      headers: { ...BASE_HEADERS, "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
    }), agentDocs.llms)
    // 503 while the database cannot answer, so a load balancer routes elsewhere.
    .get("/health", async ({ set }) => {
      if (storeHealthy && !(await storeHealthy())) {
        set.status = 503;
        return { status: "unavailable" as const, version: VERSION };
      }
      return { status: "ok" as const, version: VERSION };
    }, agentDocs.health)
    .get("/whoami", ({ agent }) => ({ name: agent.name, room: agent.room, capabilities: agent.capabilities }), { agent: true, ...agentDocs.whoami })
    .get("/peers", async ({ agent }) => ({
      room: agent.room,
      peers: (await relay.peers(agent)).map((p) => ({ name: p.name, online: p.online, seconds_since_seen: p.secondsSinceSeen, capabilities: p.capabilities })),
    }), { agent: true, ...agentDocs.peers })
    .post("/messages", async ({ agent, body, request }) => ({
      ok: true, message: wireMessage(await relay.post(agent, requiredBody(body), request.headers.get("idempotency-key"))),
    }), { agent: true, ...agentDocs.send })
    .get("/messages", async ({ agent, query, request, server }) => {
      const since = parseIntParam(query.since, "since", 0, 0);
      const wait = Math.min(parseIntParam(query.wait, "wait", 0, 0), config.maxWait);
      // A parked poll must outlive the server's idle timeout (SPEC §7.5).
      server?.timeout(request, Math.min(255, wait + 15));
      const r = await relay.read(agent, since, wait, request.signal);
      if (!r) return new Response(null, { status: 499 }); // the client is gone; nobody reads this
      return {
        messages: r.messages.map((m) => wireReadMessage(m)),
        cursor: r.cursor,
        room: wireStatus(r.room),
        room_closed: r.room.status === "closed",
        should_exit: r.budget.shouldExit,
        exit_reason: r.budget.reason,
        poll_budget: wireBudget(r.budget),
        paused: r.paused,
        reopened: r.reopened.map(wireReopened),
      };
    }, { agent: true, ...agentDocs.poll })
    .get("/messages/position", async ({ agent }) => {
      const c = await relay.store.getCursor(agent.room, agent.name);
      return { room: agent.room, name: agent.name, delivered_seq: c.deliveredSeq, read_seq: c.readSeq };
    }, { agent: true, ...agentDocs.position })
    .post("/messages/ack", async ({ agent, body }) => {
      const r = await relay.ack(agent, requiredBody(body));
      return { ok: true, read_seq: r.readSeq, delivered_seq: r.deliveredSeq };
    }, { agent: true, ...agentDocs.ack })
    .post("/messages/:seq/claim", async ({ agent, params, body }) => {
      const seq = seqParam(params.seq);
      const r = await relay.claim(agent, seq, lenientBody(body));
      const lease = { claim_expires_at: iso(r.leaseUntilMs) };
      if (r.won) return { won: true, claimed_by: r.claimedBy, seq: r.seq, ...lease };
      return errorResponse(new RelayError("already_claimed", `Message ${seq} is already claimed by ${r.claimedBy}; stay quiet.`, { won: false, claimed_by: r.claimedBy, seq, ...lease }));
    }, { agent: true, ...agentDocs.claim })
    .post("/messages/:seq/claim/renew", async ({ agent, params, body }) => {
      const r = await relay.claims.renew(agent, seqParam(params.seq), lenientBody(body));
      return { ok: true, seq: r.seq, claimed_by: agent.name, claim_expires_at: iso(r.leaseUntilMs) };
    }, { agent: true, ...agentDocs.renew })
    .post("/messages/:seq/claim/release", async ({ agent, params }) => ({ ok: true, ...(await relay.claims.release(agent, seqParam(params.seq))) }), { agent: true, ...agentDocs.release })
    .get("/messages/:seq/receipts", async ({ agent, params }) => {
      const r = await relay.receiptViews.forAgent(agent, seqParam(params.seq));
      return { seq: r.seq, receipts: r.receipts.map(wireReceipt) };
    }, { agent: true, ...agentDocs.receipts })
    .get("/history", async ({ agent, query }) => {
      const limit = parseIntParam(query.limit, "limit", 50, 1);
      const h = await relay.history(agent, limit, parseThreadParam(query.thread));
      return { room: agent.room, messages: h.messages.map((m) => ({ ...wireReadMessage(m), seen_by: m.seenBy })), room_status: wireStatus(h.status) };
    }, { agent: true, ...agentDocs.history });
}

/** A malformed escape arrives as null: not an integer, rather than "absent". */
function seqParam(raw: string | null | undefined): number {
  return parseIntParam(raw ?? "", "seq", 0, Number.MIN_SAFE_INTEGER);
}

