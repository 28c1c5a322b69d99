import fc from "fast-check";
import { bodyBytes, fieldBody, paramValue } from "./fuzz-arbitraries.ts";
import type { FuzzReport, World } from "./fuzz-harness.ts";
import { buildPath, caseHeaders, judge, unchanged } from "./fuzz-harness.ts";

// The fuzzer's socket cases: what a Request object cannot express — bodies whose framing lies
// (Content-Length longer or shorter than the bytes, chunk sizes that do not match, no final
// chunk, both framings at once), odd request lines and oversized headers — written byte for
// byte on a raw TCP connection to the same app.

export type Framing =
  | "cl-longer" | "cl-shorter" | "cl-dup" | "cl-negative" | "cl-junk" | "cl-and-te"
  | "chunked" | "chunked-lie-big" | "chunked-lie-small" | "chunked-bad-hex" | "chunked-no-end" | "chunked-over-cap"
  | "odd-method" | "bad-target" | "huge-header" | "bare-lf" | "http10" | "pipelined";

export interface SocketCase {
  route: number;
  framing: Framing;
  auth: "none" | "agent" | "admin";
  param: string;
  body: Record<string, unknown>;
}

export const socketCase = (routeCount: number): fc.Arbitrary<SocketCase> => fc.record({
  route: fc.nat({ max: routeCount - 1 }),
  framing: fc.constantFrom<Framing>("cl-longer", "cl-shorter", "cl-dup", "cl-negative", "cl-junk", "cl-and-te", "chunked", "chunked-lie-big",
    "chunked-lie-small", "chunked-bad-hex", "chunked-no-end", "chunked-over-cap", "odd-method", "bad-target", "huge-header", "bare-lf", "http10", "pipelined"),
  auth: fc.constantFrom("none", "agent", "agent", "admin", "admin"),
  param: paramValue,
  body: fieldBody,
});

/** How long a case waits for answers; a server waiting for bytes that never come is simply left. */
const ANSWER_MS = 250;

/** The bytes of a socket case's request(s). */
export function socketBytes(c: SocketCase, method: string, path: string, headers: [string, string][]): Buffer {
  const body = Buffer.from(String(bodyBytes({ kind: "json", value: c.body })));
  const head = (line: string, extra: string[]) => `${line}\r\nHost: 127.0.0.1\r\n${[...headers.map(([k, v]) => `${k}: ${v}`), ...extra].join("\r\n")}\r\n\r\n`;
  const line = `${method} ${path} HTTP/1.1`;
  const chunk = (b: Buffer, size = b.length) => Buffer.concat([Buffer.from(`${size.toString(16)}\r\n`), b, Buffer.from("\r\n")]);
  const end = Buffer.from("0\r\n\r\n");
  const te = "Transfer-Encoding: chunked";
  switch (c.framing) {
    case "cl-longer": return Buffer.concat([Buffer.from(head(line, [`Content-Length: ${body.length + 50}`])), body]);
    case "cl-shorter": return Buffer.concat([Buffer.from(head(line, [`Content-Length: ${Math.max(0, body.length - 3)}`])), body]);
    case "cl-dup": return Buffer.concat([Buffer.from(head(line, [`Content-Length: ${body.length}`, `Content-Length: ${body.length + 1}`])), body]);
    case "cl-negative": return Buffer.concat([Buffer.from(head(line, ["Content-Length: -5"])), body]);
    case "cl-junk": return Buffer.concat([Buffer.from(head(line, ["Content-Length: 12abc"])), body]);
    case "cl-and-te": return Buffer.concat([Buffer.from(head(line, [`Content-Length: ${body.length}`, te])), chunk(body), end]);
    case "chunked": return Buffer.concat([Buffer.from(head(line, [te])), chunk(body.subarray(0, 5)), chunk(body.subarray(5)), end]);
    case "chunked-lie-big": return Buffer.concat([Buffer.from(head(line, [te])), chunk(body, body.length + 40), end]);
    case "chunked-lie-small": return Buffer.concat([Buffer.from(head(line, [te])), chunk(body, Math.max(1, body.length - 2)), end]);
    case "chunked-bad-hex": return Buffer.concat([Buffer.from(head(line, [te])), Buffer.from("zz\r\n"), body, Buffer.from("\r\n"), end]);
    case "chunked-no-end": return Buffer.concat([Buffer.from(head(line, [te])), chunk(body)]);
    case "chunked-over-cap": {
      const piece = Buffer.alloc(16_384, 0x61);
      return Buffer.concat([Buffer.from(head(line, [te])), ...Array.from({ length: 8 }, () => chunk(piece)), end]);
    }
    case "odd-method": return Buffer.from(head(`${["TRACE", "CONNECT", "M-SEARCH", "get", "BREW", "G@T"][body.length % 6]} ${path} HTTP/1.1`, ["Content-Length: 0"]));
    case "bad-target": return Buffer.from(head(`${method} ${["*", "http://127.0.0.1/health", "health", "/a b", "/\u00ff", "/%", "//", "/?%zz"][body.length % 8]} HTTP/1.1`, ["Content-Length: 0"]));
    case "huge-header": return Buffer.from(head(line, [`X-Huge: ${"h".repeat(200_000)}`, "Content-Length: 0"]));
    case "bare-lf": return Buffer.from(`${line}\nHost: 127.0.0.1\n${headers.map(([k, v]) => `${k}: ${v}`).join("\n")}\nContent-Length: ${body.length}\n\n${body}`);
    case "http10": return Buffer.concat([Buffer.from(head(`${method} ${path} HTTP/1.0`, [`Content-Length: ${body.length}`])), body]);
    case "pipelined": {
      const one = Buffer.concat([Buffer.from(head(line, [`Content-Length: ${body.length}`])), body]);
      return Buffer.concat([one, one, Buffer.from(head("GET /health HTTP/1.1", []))]);
    }
  }
}

interface RawResponse { status: number; headers: Map<string, string>; body: string }

/** Splits what came back into responses (Content-Length or chunked bodies; a cut-off one ends the list). */
export function parseResponses(buf: Buffer): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  while (at < buf.length) {
    const headEnd = buf.indexOf("\r\n\r\n", at);
    if (headEnd < 0) break;
    const lines = buf.toString("latin1", at, headEnd).split("\r\n");
    const status = Number(lines[0]!.split(" ")[1]);
    const headers = new Map(lines.slice(1).map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
    let start = headEnd + 4;
    if (headers.get("transfer-encoding") === "chunked") {
      const parts: Buffer[] = [];
      for (;;) {
        const lineEnd = buf.indexOf("\r\n", start);
        if (lineEnd < 0) return out;
        const size = parseInt(buf.toString("latin1", start, lineEnd), 16);
        start = lineEnd + 2 + size + 2;
        if (size === 0 || Number.isNaN(size)) break;
        parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
      }
      out.push({ status, headers, body: Buffer.concat(parts).toString("utf8") });
      at = start;
      continue;
    }
    const length = Number(headers.get("content-length") ?? 0);
    if (start + length > buf.length) break;
    out.push({ status, headers, body: buf.toString("utf8", start, start + length) });
    at = start + length;
  }
  return out;
}

/** Writes the bytes, collects answers for ANSWER_MS (or until the server closes), then closes. */
async function exchange(port: number, bytes: Buffer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const { promise: closed, resolve } = Promise.withResolvers<void>();
  const socket = await Bun.connect({
    hostname: "127.0.0.1", port,
    socket: { data: (_s, d) => { chunks.push(Buffer.from(d)); }, close: () => resolve(), end: () => resolve(), error: () => resolve() },
  });
  let sent = 0;
  let gone = false;
  void closed.then(() => { gone = true; });
  // The server may answer and close before taking everything (a 431 for a huge header): stop then.
  for (const giveUp = Date.now() + ANSWER_MS * 4; sent < bytes.length && !gone && Date.now() < giveUp;) {
    const n = socket.write(bytes.subarray(sent));
    if (n <= 0) await Bun.sleep(1);
    else sent += n;
  }
  await Promise.race([closed, Bun.sleep(ANSWER_MS)]);
  socket.end();
  return Buffer.concat(chunks);
}

/** One socket case: properties 1–3 on every answer, then /health over a fresh connection. */
export async function runSocketCase(c: SocketCase, w: World, routes: { method: string; path: string }[], port: number, report: FuzzReport): Promise<void> {
  const route = routes[c.route]!;
  const path = buildPath(route.path, [c.param, c.param], "none");
  const headers = caseHeaders({ auth: c.auth, contentType: "application/json", headers: [], mcpAccept: true } as never, w);
  // Elysia counts an answer a turn after giving it: let the earlier cases' requests be counted.
  await settled(w, `before socket ${c.framing}`);
  const before = await w.snapshot();
  const okBefore = await appAnswered2xx(w);
  const answers = parseResponses(await exchange(port, socketBytes(c, route.method, path, headers)));
  const what = `socket ${c.framing} ${route.method} ${path}`;
  // A handler may still be running after the connection closed (see below); wait for it, so its
  // writes are judged here and not in a later case.
  await settled(w, what);
  for (const r of answers) {
    // Bun's HTTP parser answers malformed framing itself, before our app (which stamps every
    // answer with nosniff): 400, 413, 431, and 505 for a request line it cannot read (bare LF
    // line ends). Those are the only answers allowed without our headers.
    if (!r.headers.has("x-content-type-options")) {
      report.parserRejections[r.status] = (report.parserRejections[r.status] ?? 0) + 1;
      if (![400, 413, 414, 431, 505].includes(r.status)) throw new Error(`${what}: the HTTP layer answered ${r.status}`);
      continue;
    }
    report.statuses[r.status] = (report.statuses[r.status] ?? 0) + 1;
    const bad = judge(r.status, r.headers.get("content-type") ?? null, r.body, route.method === "HEAD", route.path === "/mcp");
    if (bad) throw new Error(`${what} (auth ${c.auth}): ${bad}`);
  }
  const res = await fetch(`http://127.0.0.1:${port}/health`);
  if (res.status !== 200) throw new Error(`${what}: /health answered ${res.status} afterwards`);
  await res.arrayBuffer();
  if (answers.some((r) => r.status >= 200 && r.status < 300 && r.headers.has("x-content-type-options") && !r.body.startsWith('{"status":"ok"'))) return;
  // Bun 1.4.4 does not pipeline behind an answer still being computed: bytes of a next request
  // (a pipelined one, or what a too-short Content-Length left over) close the connection and the
  // earlier answer is never written, though its handler runs on. What such a handler wrote is
  // judged by the status the app gave it (its http_requests_total), not by the lost bytes.
  if ((await appAnswered2xx(w)) > okBefore) {
    report.droppedAnswers++;
    return;
  }
  const bad = await unchanged(before, w, what);
  if (bad) throw new Error(bad);
}

/** Longest a handler may run on after its connection closed (a PostgreSQL write under load takes well under it). */
const SETTLE_MS = 5000;

async function settled(w: World, what: string): Promise<void> {
  if (!(await w.t.inFlight.idle(SETTLE_MS))) throw new Error(`${what}: ${w.t.inFlight.count} request(s) still running after ${SETTLE_MS} ms`);
}

/** 2xx answers the app has counted in http_requests_total, except /health's (the case's own check). */
async function appAnswered2xx(w: World): Promise<number> {
  const { body } = await w.t.metrics.render();
  let n = 0;
  for (const line of body.split("\n")) {
    if (line.startsWith("argybargy_http_requests_total{") && line.includes('status="2xx"') && !line.includes('route="/health"')) n += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return n;
}
