import fc from "fast-check";
import { STATUS } from "../../src/http/errors.ts";
import type { BulkStore } from "../../src/relay/ports.ts";
import { newTestApp } from "../helpers.ts";
import { bodyBytes, bodyCase, headerName, headerValue, paramValue, type BodyCase } from "./fuzz-arbitraries.ts";
import { socketCase, runSocketCase } from "./fuzz-socket.ts";

// The property-based HTTP fuzzer behind tests/http/fuzz.test.ts and scripts/fuzz. Every case is
// one generated request against one app (in-process through app.handle, or over a real socket
// for what only a socket can say: chunked bodies and lying lengths). Properties per case:
//   1. never a 5xx;
//   2. every error body is the SPEC §1.3 envelope, `error` a known code with its own status;
//   3. nothing half-written: messages, codes, room statuses, claims and leases, idempotency keys
//      and agent positions change only on a 2xx, and audit
//      rows appear on a non-2xx only as `admin_auth_failed` (what that failure is for);
//   4. /health still answers 200, and nothing reached the server's "unexpected error" log.

export interface FuzzOptions {
  runs: number;
  seed: number;
  /** Share of cases sent over a real socket (0..1). */
  socketShare: number;
  /** fast-check's replay path of a failure (with the same seed): runs just that case. */
  path?: string;
  /** Called with a line of progress or a summary. */
  log?: (line: string) => void;
}

export interface FuzzReport {
  cases: number;
  socketCases: number;
  statuses: Record<string, number>;
  /** Cases a client library could not even build (e.g. a header value fetch refuses), sent nowhere. */
  unbuildable: number;
  /** Socket answers that came from Bun's HTTP parser, before our app, by status. */
  parserRejections: Record<string, number>;
  /** Socket cases whose 2xx the app gave but Bun never wrote (a next request arrived behind it). */
  droppedAnswers: number;
}

const AGENT_ROOM = "fuzz-room";
const AGENTS = ["fz-alice", "fz-bob"];

type Auth = "none" | "agent" | "agent2" | "admin" | "garbage" | "swapped" | "both" | "dup";

export interface HttpCase {
  route: number;
  method: string | null;
  params: string[];
  mutation: "none" | "slash" | "double" | "dotdot" | "junk" | "case";
  query: [string, string][];
  auth: Auth;
  contentType: string | null;
  headers: [string, string][];
  mcpAccept: boolean;
  body: BodyCase;
}

const httpCase = (routeCount: number): fc.Arbitrary<HttpCase> => fc.record({
  route: fc.nat({ max: routeCount - 1 }),
  // Mostly the route's own method and path, so most cases get past routing to auth and the handlers.
  method: fc.oneof(
    { weight: 17, arbitrary: fc.constant(null) },
    { weight: 3, arbitrary: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "PROPFIND", "get", "X-ODD") },
  ),
  params: fc.array(paramValue, { minLength: 2, maxLength: 2 }),
  mutation: fc.oneof(
    { weight: 17, arbitrary: fc.constant("none" as const) },
    { weight: 3, arbitrary: fc.constantFrom("slash", "double", "dotdot", "junk", "case") },
  ),
  query: fc.array(fc.tuple(fc.constantFrom("since", "wait", "limit", "before", "room", "since", "x", ""), paramValue), { maxLength: 4 }),
  auth: fc.constantFrom<Auth>("none", "agent", "agent", "agent", "agent2", "admin", "admin", "admin", "garbage", "swapped", "both", "dup"),
  contentType: fc.option(fc.constantFrom("application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
    "application/json; charset=latin1", "", "*/*", "application/json, text/html", "text/html; charset=utf-16"), { freq: 3 }),
  headers: fc.array(fc.tuple(headerName, headerValue), { maxLength: 3 }),
  mcpAccept: fc.boolean(),
  body: bodyCase,
});

/** Routes as the app registered them (every agent, admin, docs and dashboard route). */
function routeList(app: { routes: { method: string; path: string }[] }): { method: string; path: string }[] {
  const seen = new Set<string>();
  return app.routes
    .map((r) => ({ method: r.method.toUpperCase(), path: r.path }))
    .filter((r) => r.method !== "ALL" && !seen.has(`${r.method} ${r.path}`) && seen.add(`${r.method} ${r.path}`));
}

/** Fills `:param`s with generated raw values and applies a path mutation. */
export function buildPath(template: string, params: string[], mutation: HttpCase["mutation"]): string {
  let i = 0;
  let path = template.replace(/:[a-zA-Z]+/g, () => params[i++ % params.length]!);
  switch (mutation) {
    case "slash": path += "/"; break;
    case "double": path = path.replace("/", "//"); break;
    case "dotdot": path = `/admin/..${path}`; break;
    case "junk": path += ";x=1"; break;
    case "case": path = path.toUpperCase(); break;
  }
  return path;
}

/** The fuzzer's world: one app with two agents and the admin, its database, and what it logged. */
export async function fuzzWorld() {
  // MAX_WAIT=0: a generated poll answers at once instead of parking for the whole run.
  // No post rate limit or auth throttle: their 429s would hide the handlers behind them (both have their own tests).
  // No loop guard either: a run of generated agent posts would pause the room for the rest of the run.
  const t = newTestApp({ ARGYBARGY_MAX_WAIT: "0", ARGYBARGY_RATE_MAX: "0", ARGYBARGY_AUTH_FAIL_MAX: "0", ARGYBARGY_LOOP_GUARD: "0" });
  const codes: Record<string, string> = {};
  // The current token: a generated regenerate-token rotates it (t.admin would keep the first one).
  const admin = (method: string, path: string, body?: unknown) => t.req(method, path, { body, headers: { "x-admin-token": t.relay.adminToken } });
  const mint = async (name: string) => {
    // A generated revoke may have taken only some of the name's codes: clear them, then mint one.
    await admin("POST", "/admin/revoke", { target: name, room: AGENT_ROOM });
    const r = await admin("POST", "/admin/invite", { name, room: AGENT_ROOM });
    if (r.status !== 200) throw new Error(`fuzz world: cannot mint ${name}: ${r.status} ${r.text}`);
    codes[name] = r.json.code;
    // The first sight of an agent is audited (`connect`); let it happen before the fuzzing.
    await t.asAgent(codes[name]!).req("GET", "/whoami");
  };
  for (const name of AGENTS) await mint(name);
  // Read through the BulkStore port, so the same check runs on either store. Receipt marks, seen
  // and read positions are left out: a post marks its sender's read position and reads record
  // receipts in the background, a beat after the 2xx that earned them, so they may land during a
  // later case. Idempotency keys are written in the insert that stores their message.
  const bulk = t.store as unknown as BulkStore;
  const snapshot = async () => {
    const d = await bulk.dumpAll();
    const list = (xs: string[]) => xs.sort().join(",");
    return {
      messages: d.messages.length,
      codes: d.codes.length,
      claims: list(d.messages.filter((m) => m.claimedBy !== null).map((m) => `${m.room}:${m.seq}:${m.claimedBy}:${m.leaseUntilMs ?? ""}`)),
      statuses: list(d.statuses.map((x) => `${x.name}:${x.status}`)),
      cursors: list(d.cursors.filter((c) => c.deliveredSeq > 0).map((c) => `${c.room}:${c.name}:${c.deliveredSeq}`)),
      audit: d.audit.reduce((top, a) => Math.max(top, a.id ?? 0), 0),
      auditRows: d.audit,
    };
  };
  return {
    t, codes, mint, admin,
    snapshot,
    adminToken: () => t.relay.adminToken,
  };
}

export type World = Awaited<ReturnType<typeof fuzzWorld>>;
/** What property 3 compares before and after a case. */
export type Snapshot = Awaited<ReturnType<World["snapshot"]>>;

/** The headers of a case: its credentials (valid ones for a share of cases), content type and extras. */
export function caseHeaders(c: HttpCase, w: World): [string, string][] {
  const agent = w.codes[c.auth === "agent2" ? "fz-bob" : "fz-alice"]!;
  const admin = w.adminToken();
  const h: [string, string][] = [];
  switch (c.auth) {
    case "agent": case "agent2": h.push(["authorization", `Bearer ${agent}`]); break;
    case "admin": h.push(["x-admin-token", admin]); break;
    case "garbage": h.push(["authorization", "Bearer not-a-code"], ["x-admin-token", "not-the-token"]); break;
    case "swapped": h.push(["authorization", `Bearer ${admin}`], ["x-admin-token", agent]); break;
    case "both": h.push(["authorization", `Bearer ${agent}`], ["x-admin-token", admin]); break;
    case "dup": h.push(["authorization", `Bearer ${agent}`], ["authorization", `Bearer ${agent}`], ["x-admin-token", admin], ["x-admin-token", admin]); break;
  }
  if (c.contentType !== null) h.push(["content-type", c.contentType]);
  // What an MCP client sends on /mcp (without it the transport answers 406 before any tool runs).
  if (c.mcpAccept) h.push(["accept", "application/json, text/event-stream"]);
  return [...h, ...c.headers];
}

/**
 * Checks one response against properties 1 and 2; returns a reason, or null when it holds. On
 * `/mcp` an error may also be JSON-RPC's own form (what MCP clients read there).
 */
export function judge(status: number, contentType: string | null, text: string, head: boolean, mcp = false): string | null {
  if (status >= 500) return `status ${status}: ${text.slice(0, 300)}`;
  if (status < 400 || head) return null;
  if (!contentType?.startsWith("application/json")) return `error ${status} is not JSON (${contentType})`;
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    return `error ${status} body is not JSON: ${text.slice(0, 200)}`;
  }
  if (mcp && body?.jsonrpc === "2.0" && typeof body?.error?.code === "number" && typeof body?.error?.message === "string") return null;
  if (typeof body?.error !== "string" || typeof body?.message !== "string") return `error ${status} is not the envelope: ${text.slice(0, 200)}`;
  if (STATUS[body.error as keyof typeof STATUS] !== status) return `error code ${body.error} came with status ${status}`;
  return null;
}

/** Property 3 for a case that did not succeed. */
export async function unchanged(before: Snapshot, w: World, what: string): Promise<string | null> {
  const after = await w.snapshot();
  // Audit rows are judged below by action: a failed admin login is audited by design.
  const { auditRows: _a, audit: _c, ...shownBefore } = before;
  const { auditRows: _b, audit: _d, ...shownAfter } = after;
  if (JSON.stringify(shownBefore) !== JSON.stringify(shownAfter)) {
    return `${what} wrote without a 2xx: ${JSON.stringify(shownBefore)} -> ${JSON.stringify(shownAfter)}`;
  }
  const audit = after.auditRows.filter((a) => (a.id ?? 0) > before.audit).map((a) => a.action).filter((a) => a !== "admin_auth_failed");
  return audit.length ? `${what} audited ${audit.join(",")} without a 2xx` : null;
}

/** Keeps the world usable for the next case: agents revoked by a generated revoke are minted again, rooms reopened. */
async function restore(w: World): Promise<void> {
  for (const name of AGENTS) {
    if ((await w.t.asAgent(w.codes[name]!).req("GET", "/whoami")).status !== 200) await w.mint(name);
  }
  if ((await w.t.relay.store.getRoomStatus(AGENT_ROOM)).status === "closed") await w.admin("POST", `/admin/rooms/${AGENT_ROOM}/reopen`);
}

async function runHttpCase(c: HttpCase, w: World, routes: { method: string; path: string }[], report: FuzzReport): Promise<void> {
  const route = routes[c.route]!;
  const method = c.method ?? route.method;
  const qs = c.query.map(([k, v]) => `${k}=${v}`).join("&");
  const url = `http://localhost${buildPath(route.path, c.params, c.mutation)}${qs ? `?${qs}` : ""}`;
  const headers = new Headers();
  let request: Request;
  try {
    for (const [k, v] of caseHeaders(c, w)) headers.append(k, v);
    const body = method === "GET" || method === "HEAD" ? undefined : (bodyBytes(c.body) as BodyInit | undefined);
    request = new Request(url, { method, headers, body });
  } catch {
    report.unbuildable++;
    return;
  }
  const before = await w.snapshot();
  const res = await w.t.app.handle(request);
  const text = await bodyText(res);
  report.statuses[res.status] = (report.statuses[res.status] ?? 0) + 1;
  const what = `${method} ${url.slice(0, 200)}`;
  const bad = judge(res.status, res.headers.get("content-type"), text, method === "HEAD", route.path === "/mcp")
    ?? (res.status >= 200 && res.status < 300 ? null : await unchanged(before, w, what));
  if (bad) throw new Error(`${what} (auth ${c.auth}, body ${c.body.kind}): ${bad}`);
}

/** The body of a response; an open event stream is read up to its first chunk and then hung up on, as a client leaving does. */
async function bodyText(res: Response): Promise<string> {
  if (!res.headers.get("content-type")?.startsWith("text/event-stream") || !res.body) return res.text();
  const reader = res.body.getReader();
  const first = await Promise.race([reader.read(), Bun.sleep(500).then(() => null)]);
  await reader.cancel().catch(() => {});
  return first?.value ? new TextDecoder().decode(first.value) : "";
}

async function healthy(w: World): Promise<void> {
  const h = await w.t.app.handle(new Request("http://localhost/health"));
  if (h.status !== 200) throw new Error(`/health answered ${h.status} after the case`);
  if (w.t.errors.length) throw new Error(`the server logged an unexpected error: ${String((w.t.errors[0] as Error)?.stack ?? w.t.errors[0])}`);
}

/** Longest a single case may take; the slowest legitimate ones (1 MB bodies, socket waits) take well under a second. */
const CASE_DEADLINE_MS = 10_000;

async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: Timer | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the case did not finish within ${ms} ms (a request left hanging)`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs `runs` generated cases from `seed` and throws (with the seed and the shrunk case) on the
 * first property that fails. A share of cases goes over a real socket to the same app.
 */
export async function runFuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const w = await fuzzWorld();
  const server = w.t.app.listen({ hostname: "127.0.0.1", port: 0 });
  const port = server.server!.port!;
  const routes = routeList(w.t.app as never);
  const report: FuzzReport = { cases: 0, socketCases: 0, statuses: {}, unbuildable: 0, parserRejections: {}, droppedAnswers: 0 };
  const kind = fc.oneof(
    { weight: Math.round((1 - opts.socketShare) * 100), arbitrary: httpCase(routes.length).map((c) => ({ socket: false as const, c })) },
    { weight: Math.round(opts.socketShare * 100), arbitrary: socketCase(routes.length).map((c) => ({ socket: true as const, c })) },
  );
  try {
    await fc.assert(
      fc.asyncProperty(kind, async (k) => {
        report.cases++;
        if (k.socket) report.socketCases++;
        // A case that never finishes is a failure too (a request the server never answers).
        await withDeadline(k.socket ? runSocketCase(k.c, w, routes, port, report) : runHttpCase(k.c, w, routes, report), CASE_DEADLINE_MS);
        await healthy(w);
        await restore(w);
        if (opts.log && report.cases % 1000 === 0) opts.log(`${report.cases} cases`);
      }),
      { numRuns: opts.runs, seed: opts.seed, ...(opts.path ? { path: opts.path } : {}) },
    );
  } finally {
    await w.t.app.stop(true);
  }
  return report;
}
