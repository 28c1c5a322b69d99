import { t, type TSchema } from "elysia";
import type { Config } from "../config.ts";

/** Wire shapes (SPEC §5–§6) as TypeBox schemas, used for the OpenAPI view. Validation itself is in relay/. */

const Ts = t.String({ format: "date-time", description: "ISO-8601 UTC with milliseconds" });
const Nullable = <T extends TSchema>(s: T) => t.Union([s, t.Null()]);

export const ErrorBody = t.Object({
  error: t.String({ description: "snake_case code; branch on this" }),
  message: t.String({ description: "one sentence, safe to show an agent" }),
}, { additionalProperties: true });

export const MessageEcho = t.Object({
  seq: t.Integer(), ts: Ts, from: t.String(), to: t.String(), text: t.String(),
  expects_reply: t.String(), claimed_by: Nullable(t.String()),
  reply_to: Nullable(t.Integer({ description: "the seq this message answers, or null" })),
  thread: t.Integer({ description: "seq of the thread's root; a root's own seq" }),
  claim_expires_at: Nullable(t.String({ format: "date-time", description: "when the claim's lease ends unless renewed; null when unclaimed, completed or permanent" })),
});
export const ReadMessage = t.Composite([MessageEcho, t.Object({ expects_reply_resolved: t.String() })]);
export const HistoryMessage = t.Composite([ReadMessage, t.Object({
  seen_by: Nullable(t.Integer({ description: "on your own messages: how many recipients have read it; null on others'" })),
})]);
export const ReceiptCounts = t.Object({
  recipients: t.Integer({ description: "DM: 1; broadcast: the room's members as of the post, minus sender and operator" }),
  delivered: t.Integer(), read: t.Integer(), delivered_to: t.Array(t.String()), read_by: t.Array(t.String()),
});
export const AdminMessage = t.Composite([ReadMessage, t.Object({
  room: t.String(),
  claim_note: Nullable(t.String({ description: "e.g. \"claim expired (was: bob)\" when a lease lapsed and the question is open again" })),
  receipts: ReceiptCounts,
})]);
export const ReceiptRow = t.Object({ name: t.String(), delivered_at: Nullable(Ts), read_at: Nullable(Ts) });
export const Reopened = t.Object({ seq: t.Integer(), was: t.String(), why: t.Union([t.Literal("expired"), t.Literal("released")]) });
export const RoomStatusBody = t.Object({
  name: t.String(), status: t.Union([t.Literal("open"), t.Literal("closed")]), closed_at: Nullable(Ts), closed_by: Nullable(t.String()),
});
export const PollBudget = t.Object({
  waited_seconds: t.Number(), room_quiet_seconds: t.Number(), idle_seconds: t.Number(), max_idle_seconds: t.Integer(),
  seconds_left: Nullable(t.Number()), should_exit: t.Boolean(), reason: Nullable(t.String()),
});
export const PollBody = t.Object({
  messages: t.Array(ReadMessage), cursor: t.Integer(), room: RoomStatusBody, room_closed: t.Boolean(),
  should_exit: t.Boolean(), exit_reason: Nullable(t.String()), poll_budget: PollBudget,
  paused: t.Boolean({ description: "the loop guard holds agent posts (429 room_paused) until the operator speaks" }),
  reopened: t.Array(Reopened, { description: "questions whose claim lapsed while you waited: open for anyone again" }),
});
/** The data of a stream's `room` event: the room's status and the exit advice of SPEC §7.6. */
export const StreamRoomEvent = t.Object({
  room: t.String(), status: t.Union([t.Literal("open"), t.Literal("closed")]), closed_at: Nullable(Ts), closed_by: Nullable(t.String()),
  should_exit: t.Boolean(), exit_reason: Nullable(t.String()),
});
export const CodeRow = t.Object({
  code: t.String({ description: "masked (first 4 … last 4) unless stored in plaintext" }), name: t.String(), room: t.String(),
  capabilities: t.String(), created: Ts, expires: Nullable(Ts),
});

const json = (schema: TSchema, description: string) => ({ description, content: { "application/json": { schema } } });
const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), json(ErrorBody, ERROR_TEXT[c] ?? "error")]));
const ERROR_TEXT: Record<number, string> = {
  400: "bad_request", 401: "unauthorized", 403: "forbidden (quota)", 404: "not_found", 409: "conflict",
  413: "payload_too_large", 422: "invalid / unknown_recipient / not_claimable / idempotency_key_reused",
  429: "rate_limited / too_many_polls (Retry-After header) / room_paused",
  503: "unavailable: the PostgreSQL database is not answering (Retry-After header)",
};
const idempotencyHeader = {
  name: "Idempotency-Key", in: "header", required: false, schema: t.String({ maxLength: 200 }),
  description: "1..200 characters: a retry with the same key and body within 24 h returns the first answer (same seq); another body with the key is 422 idempotency_key_reused",
};
const ttlBody = (what: string) => ({
  requestBody: {
    required: false,
    ...json(t.Object({ ttl_s: t.Optional(t.Integer({ minimum: 10, maximum: 86400, description: `${what}; default ARGYBARGY_CLAIM_TTL` })) }), "lease"),
  },
});
const query = (name: string, description: string, schema: TSchema = t.Integer()) => ({ name, in: "query", required: false, description, schema });
const path = (name: string, description: string, schema: TSchema) => ({ name, in: "path", required: true, description, schema });

type Op = { detail: Record<string, unknown> };
const op = (tag: string, summary: string, description: string, extra: Record<string, unknown>, auth: "agent" | "admin" | null): Op => ({
  detail: { tags: [tag], summary, description, ...(auth ? { security: [{ [auth === "agent" ? "agentCode" : "adminToken"]: [] }] } : {}), ...extra },
});
const body = (schema: TSchema, description: string) => ({ requestBody: { required: true, ...json(schema, description) } });

/** OpenAPI details of the agent routes, quoting the configured limits. */
export function agentDocsFor(c: Config) {
  const ok = (schema: TSchema, d = "OK") => ({ responses: { 200: json(schema, d), ...errors(401, 413, 422, 429) } });
  return {
    manifest: op("agent", "Manifest", "Self-describing onboarding document for agents.", { responses: { 200: json(t.Object({}, { additionalProperties: true }), "manifest") } }, null),
    llms: op("agent", "Manifest as text", "The manifest as plain text (llms.txt), for agents that read docs that way.", { responses: { 200: { description: "text", content: { "text/plain": { schema: t.String() } } } } }, null),
    health: op("agent", "Health", "Liveness and version; ignores credentials. 503 `unavailable` while the database cannot answer.", { responses: {
      200: json(t.Object({ status: t.Literal("ok"), version: t.String() }), "ok"),
      503: json(t.Object({ status: t.Literal("unavailable"), version: t.String() }), "the database does not answer"),
    } }, null),
    whoami: op("agent", "Who am I", "The caller's name, room and capabilities.", ok(t.Object({ name: t.String(), room: t.String(), capabilities: t.String() })), "agent"),
    position: op("agent", "My positions", "The caller's durable positions: delivered_seq (the newest seq a cursor-less read such as MCP wait handed out) and read_seq (the newest acknowledged with POST /messages/ack).", ok(t.Object({
      room: t.String(), name: t.String(), delivered_seq: t.Integer(), read_seq: t.Integer(),
    })), "agent"),
    ack: op("agent", "Acknowledge (mark read)", "Raises the caller's read position to up_to (never lowers it); 422 when up_to is beyond the room's newest seq.", {
      ...body(t.Object({ up_to: t.Integer({ minimum: 0, description: "the newest seq you have read" }) }), "ack"),
      responses: { 200: json(t.Object({ ok: t.Boolean(), read_seq: t.Integer(), delivered_seq: t.Integer() }), "raised"), ...errors(401, 413, 422, 429) },
    }, "agent"),
    peers: op("agent", "Peers", `Presence in the caller's room; online = seen within ${c.onlineWindow} s.`, ok(t.Object({
      room: t.String(), peers: t.Array(t.Object({ name: t.String(), online: t.Boolean(), seconds_since_seen: t.Number(), capabilities: t.String() })),
    })), "agent"),
    send: op("agent", "Send a message", `text: 1..${c.maxText} code points. Rate limit ${c.rateMax} per ${c.rateWindow} s (0 = off). 409 room_closed in a closed room.`, {
      ...body(t.Object({
        text: t.String({ description: `1..${c.maxText} characters` }),
        to: t.Optional(t.String({ description: "all (default) or a member", maxLength: 64 })),
        expects_reply: t.Optional(Nullable(t.String({ description: "none | anyone | <member>; default none for broadcasts, the recipient for DMs" }))),
        reply_to: t.Optional(Nullable(t.Integer({ description: "seq of a message you can see in your room: joins its thread; answering a question you claimed completes the claim" }))),
      }), "message"),
      parameters: [idempotencyHeader],
      responses: { 200: json(t.Object({ ok: t.Boolean(), message: MessageEcho }), "stored (or the first answer for a repeated Idempotency-Key)"), ...errors(401, 403, 409, 413, 422, 429) },
    }, "agent"),
    poll: op("agent", "Receive (long-poll)", `Parks up to wait s (capped at ${c.maxWait}) until a message arrives; pass cursor back as since. ${c.maxPollsPerAgent ? `At most ${c.maxPollsPerAgent} parked polls per agent at once; more get 429 too_many_polls.` : "No cap on parked polls per agent."}`, {
      parameters: [query("since", "cursor from the previous response (default 0)"), query("wait", `seconds to park, 0..${c.maxWait} (default 0)`)],
      ...ok(PollBody),
    }, "agent"),
    stream: op("agent", "Receive (Server-Sent Events)", [
      "One `message` event per visible message (id = seq, data = the message object as the poll returns it), first those after the resume point, then live.",
      "Resume point: the Last-Event-ID header wins over since; with neither, since = 0 (all retained history, as the poll).",
      "A `room` event (data: room, status, closed_at, closed_by, should_exit, exit_reason) once at connect when the room is closed or idle-timed-out, and whenever that advice changes (close, reopen, idle valve); the stream stays open after a close.",
      `A \`: ping\` comment after ${c.streamHeartbeatSeconds} s without an event. At most ${c.maxStreamsPerAgent || "unlimited"} open streams per agent; the oldest is closed when another opens.`,
    ].join(" "), {
      parameters: [
        query("since", "resume after this seq when no Last-Event-ID is sent (default 0)"),
        { name: "Last-Event-ID", in: "header", required: false, description: "the id of the last event received; wins over since", schema: t.Integer() },
      ],
      responses: {
        200: { description: "text/event-stream: events `message` (data: Message) and `room` (data: StreamRoomEvent)", content: { "text/event-stream": { schema: t.String() } } },
        ...errors(401, 422, 429),
      },
    }, "agent"),
    claim: op("agent", "Claim an open question", `A lease of ttl_s seconds (default ${c.claimTtl}; no body = the default, as 1.0 clients send). 200 yours (idempotent), 409 someone else's, 422 not yours to claim or ttl_s out of range, 404 not visible. Your reply (reply_to = seq, or a DM to the asker) completes it; an expired or released lease reopens the question for anyone.`, {
      parameters: [path("seq", "message seq", t.Integer())],
      ...ttlBody("lease length in seconds"),
      responses: { 200: json(t.Object({ won: t.Boolean(), claimed_by: t.String(), seq: t.Integer(), claim_expires_at: Nullable(Ts) }), "won"), ...errors(401, 404, 409, 422) },
    }, "agent"),
    renew: op("agent", "Renew a claim's lease", "The holder only: the lease ends ttl_s from now. 409 not_holder for anyone else (or after the lease lapsed).", {
      parameters: [path("seq", "message seq", t.Integer())],
      ...ttlBody("new lease length from now"),
      responses: { 200: json(t.Object({ ok: t.Boolean(), seq: t.Integer(), claimed_by: t.String(), claim_expires_at: Ts }), "renewed"), ...errors(401, 404, 409, 422) },
    }, "agent"),
    release: op("agent", "Release a claim", "The holder only: the question is open for anyone again (audit row, parked polls answer with reopened). 409 not_holder for anyone else.", {
      parameters: [path("seq", "message seq", t.Integer())],
      responses: { 200: json(t.Object({ ok: t.Boolean(), seq: t.Integer() }), "released"), ...errors(401, 404, 409) },
    }, "agent"),
    receipts: op("agent", "Receipts of a message", "For everyone the message was for (DM: the recipient; broadcast: the room's members as of the post): when it was delivered (returned by a poll, the stream or MCP wait) and read (acked, or the recipient posted after receiving it). Any agent that can see the message may ask; 404 otherwise.", {
      parameters: [path("seq", "message seq", t.Integer())],
      ...ok(t.Object({ seq: t.Integer(), receipts: t.Array(ReceiptRow) })),
    }, "agent"),
    history: op("agent", "History", `Newest messages visible to the caller; limit default 50, capped at ${c.maxHistory}; thread=N gives one thread (root seq N). Your own messages carry seen_by.`, {
      parameters: [query("limit", `1..${c.maxHistory}`), query("thread", "root seq of one thread")],
      ...ok(t.Object({ room: t.String(), messages: t.Array(HistoryMessage), room_status: RoomStatusBody })),
    }, "agent"),
  };
}

/** OpenAPI details of `POST /mcp` (MCP over Streamable HTTP; the tools are listed by `tools/list`). */
export function mcpDocs(c: Config) {
  const rpc = t.Object({ jsonrpc: t.Literal("2.0"), id: t.Optional(t.Union([t.String(), t.Integer(), t.Null()])), method: t.Optional(t.String()) }, { additionalProperties: true });
  return op("agent", "MCP (Streamable HTTP)",
    "Model Context Protocol, stateless: initialize, tools/list, tools/call. Tools: send, wait (blocks up to " +
    `${Math.min(45, c.maxWait)} s on the server-kept position), claim, history, peers, whoami. Send Accept: application/json, text/event-stream ` +
    "and Content-Type: application/json. A tool's domain error is a result with isError and {error, message}. GET and DELETE answer 405.", {
      ...body(t.Union([rpc, t.Array(rpc, { maxItems: 10 })]), "one JSON-RPC message or a batch of at most 10"),
      responses: {
        200: json(t.Union([rpc, t.Array(rpc)]), "JSON-RPC response(s)"),
        202: { description: "notifications only: accepted, no body" },
        400: json(t.Object({ jsonrpc: t.String(), id: t.Null(), error: t.Object({ code: t.Integer(), message: t.String() }) }), "JSON-RPC parse error or invalid request"),
        406: { description: "Accept must list application/json and text/event-stream" },
        415: { description: "Content-Type must be application/json" },
        ...errors(401, 413, 429),
      },
    }, "agent");
}

/** OpenAPI details of the admin routes. */
export function adminDocsFor(c: Config) {
  const ok = (schema: TSchema, ...codes: number[]) => ({ responses: { 200: json(schema, "OK"), ...errors(401, 429, ...codes) } });
  const any = t.Object({}, { additionalProperties: true });
  return {
    state: op("admin", "Dashboard snapshot", "Presence, roster, codes, rooms (each with paused and agent_run), inbox and the newest 60 messages (of one room with ?room=, paging back with before); loop_guard is the configured N. Messages and inbox rows are AdminMessage objects: room, claim_note, receipts {recipients, delivered, read, delivered_to, read_by}.", {
      parameters: [query("room", "room in view", t.String()), query("before", "with room: messages with seq < before")],
      ...ok(any, 422),
    }, "admin"),
    stats: op("admin", "Stats", "Uptime and counts.", ok(t.Object({
      version: t.String(), uptime_seconds: t.Integer(), online_peers: t.Integer(), codes: t.Integer(), messages: t.Integer(), rooms: t.Integer(),
      parked_polls: t.Integer({ description: "waiters parked right now: agents' GET /messages, /admin/changes, open streams between events" }),
      polling_agents: t.Integer({ description: "agents with at least one parked GET /messages" }),
      open_streams: t.Integer({ description: "open GET /messages/stream connections" }),
    })), "admin"),
    audit: op("admin", "Audit log", `Newest limit events (1..1000, default 100), oldest first; ${c.maxAudit || "unlimited"} kept.`, {
      parameters: [query("limit", "1..1000")],
      ...ok(t.Object({ events: t.Array(t.Object({ ts: Ts, action: t.String(), actor: t.String(), room: t.String(), detail: t.String() })) }), 422),
    }, "admin"),
    changes: op("admin", "Change feed (long-poll)", `Parks up to wait s (capped at ${c.maxWait}) until anything an operator view shows changes.`, {
      parameters: [query("since", "cursor from the previous answer"), query("wait", `0..${c.maxWait}`)],
      ...ok(t.Object({ cursor: t.Integer(), changed: t.Boolean(), rooms: t.Array(t.String()) }), 422),
    }, "admin"),
    invite: op("admin", "Mint an access code", "The plaintext code is shown once.", {
      ...body(t.Object({
        name: t.String({ maxLength: 64 }), room: t.Optional(t.String({ maxLength: 64 })),
        expires: t.Optional(Nullable(t.String({ description: "10m, 30m, 60m, 1d, 1w, 1mo, never; a bare number is hours" }))),
        capabilities: t.Optional(Nullable(t.String({ maxLength: 400 }))),
      }), "invite"),
      ...ok(t.Object({ code: t.String(), name: t.String(), room: t.String(), expires: Nullable(Ts), capabilities: t.String(), url: t.String(), instruction: t.String() }), 400, 403, 409, 413, 422),
    }, "admin"),
    revoke: op("admin", "Revoke codes", "By name (optionally within room) or by code value.", {
      ...body(t.Object({ target: t.String({ maxLength: 256 }), room: t.Optional(t.String({ maxLength: 64 })) }), "revoke"),
      ...ok(t.Object({ revoked: t.Integer() }), 413, 422),
    }, "admin"),
    say: op("admin", "Speak as the operator", `Posts into a room (also a closed one); text 1..${c.maxText}.`, {
      ...body(t.Object({
        text: t.String(), room: t.Optional(t.String()), sender: t.Optional(t.String()), to: t.Optional(t.String()),
        expects_reply: t.Optional(Nullable(t.String())), reply_to: t.Optional(Nullable(t.Integer({ description: "seq in the room: joins its thread" }))),
      }), "say"),
      parameters: [idempotencyHeader],
      ...ok(t.Object({ ok: t.Boolean(), message: MessageEcho }), 413, 422),
    }, "admin"),
    regenerate: op("admin", "Regenerate the admin token", "The old token is refused from the next request.", ok(t.Object({ admin_token: t.String() })), "admin"),
    close: op("admin", "Close a room", "Dismisses every agent of the room: parked polls answer should_exit.", {
      parameters: [path("room", "room name", t.String())], ...ok(t.Object({ ok: t.Boolean(), room: RoomStatusBody }), 413, 422),
    }, "admin"),
    reopen: op("admin", "Reopen a room", "Posting is allowed again.", {
      parameters: [path("room", "room name", t.String())], ...ok(t.Object({ ok: t.Boolean(), room: RoomStatusBody }), 413, 422),
    }, "admin"),
    resume: op("admin", "Resume a paused room", `Lifts the loop guard (after ${c.loopGuard || "∞"} agent messages without the operator) without posting; any /admin/say does the same.`, {
      parameters: [path("room", "room name", t.String())], ...ok(t.Object({ ok: t.Boolean(), room: t.String(), paused: t.Boolean() }), 413, 422),
    }, "admin"),
    receipts: op("admin", "Receipts of any message", "Every recipient's delivered_at and read_at (null when not yet).", {
      parameters: [path("room", "room name", t.String()), path("seq", "message seq", t.Integer())],
      ...ok(t.Object({ room: t.String(), seq: t.Integer(), receipts: t.Array(ReceiptRow) }), 404, 422),
    }, "admin"),
  };
}

/** OpenAPI details of the operations routes. */
export const opsDocs = {
  metrics: {
    detail: {
      tags: ["admin"], summary: "Prometheus metrics",
      description: "Prometheus text format (0.0.4): messages posted and delivered, parked polls, wake latency, claims, rate limits, auth failures, store latency, HTTP requests, process figures. The admin token, or Authorization: Bearer <ARGYBARGY_METRICS_TOKEN> when that is set.",
      security: [{ adminToken: [] }, { metricsToken: [] }] as Record<string, string[]>[],
      responses: { 200: { description: "exposition text", content: { "text/plain": { schema: t.String() } } }, ...errors(401, 429) },
    },
  },
};

/** Security schemes and shared components of the OpenAPI document. */
export const components = {
  securitySchemes: {
    agentCode: { type: "http", scheme: "bearer", description: "An agent's access code: Authorization: Bearer <code>" },
    adminToken: { type: "apiKey", in: "header", name: "X-Admin-Token", description: "The operator's admin token (argybargy token)" },
    metricsToken: { type: "http", scheme: "bearer", description: "ARGYBARGY_METRICS_TOKEN, for /metrics only" },
  },
  schemas: { Error: ErrorBody, Message: ReadMessage, HistoryMessage, AdminMessage, Receipt: ReceiptRow, Reopened, RoomStatus: RoomStatusBody, PollBudget, StreamRoomEvent, CodeRow },
};
