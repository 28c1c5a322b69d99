import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect } from "node:net";
import { join } from "node:path";
import { startServer, type RunningServer } from "../../src/cli/serve.ts";
import { issueCode, revokeCodes } from "../../src/relay/access.ts";
import { InFlight } from "../../src/http/in-flight.ts";
import { PgStore } from "../../src/store/postgres.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { newTestApp, tempDir, testConfig } from "../helpers.ts";

// What only a real socket shows: raw header bytes (SPEC §1.2) and a second database connection,
// as the CLI's store verbs use, changing codes under a running server (SPEC §3).

let server: RunningServer;
let dir: ReturnType<typeof tempDir>;
beforeAll(async () => {
  dir = tempDir();
  server = await startServer(testConfig({ ARGYBARGY_PORT: "0", ARGYBARGY_LOG_LEVEL: "error", ARGYBARGY_AUTH_FAIL_MAX: "0" }, dir.path));
});
afterAll(async () => {
  await server.stop();
  dir.cleanup();
});

/** Sends one request with raw header bytes and returns the status line. */
function rawStatus(path: string, header: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, "127.0.0.1", () => {
      socket.write(Buffer.concat([Buffer.from(`GET ${path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n`), header, Buffer.from("\r\n\r\n")]));
    });
    let out = "";
    socket.on("data", (d) => (out += d.toString("latin1")));
    socket.on("end", () => resolve(out.split("\r\n")[0]!));
    socket.on("error", reject);
  });
}

test("credentials made of arbitrary bytes (non-ASCII, invalid UTF-8) are 401, never 500", async () => {
  const junk = [Buffer.from([0xc3, 0xa9, 0xff, 0xfe, 0x80]), Buffer.from("tökén", "utf8"), Buffer.from([0xe2, 0x82])];
  for (const bytes of junk) {
    expect(await rawStatus("/admin/stats", Buffer.concat([Buffer.from("X-Admin-Token: "), bytes]))).toBe("HTTP/1.1 401 Unauthorized");
    expect(await rawStatus("/whoami", Buffer.concat([Buffer.from("Authorization: Bearer "), bytes]))).toBe("HTTP/1.1 401 Unauthorized");
    expect(await rawStatus("/whoami", Buffer.concat([Buffer.from("Authorization: "), bytes]))).toBe("HTTP/1.1 401 Unauthorized");
  }
  const ok = await fetch(`${server.url}/admin/stats`, { headers: { "x-admin-token": server.adminToken } });
  expect(ok.status).toBe(200);
});

test("codes changed through another database connection take effect on the next request", async () => {
  const call = (path: string, code: string, body?: unknown) =>
    fetch(`${server.url}${path}`, { method: body ? "POST" : "GET", headers: { authorization: `Bearer ${code}` }, body: body ? JSON.stringify(body) : undefined });
  const served = server.relay.store;
  const cli = served instanceof PgStore ? await PgStore.open(served.url, { max: 2 }) : SqliteStore.open(join(dir.path, "argybargy.db"));
  try {
    const issue = (name: string) => issueCode(cli, { name, room: "lab" }, { nowMs: Date.now(), hashCodes: true, maxCodes: 0 });
    const alice = (await issue("alice")).code;
    expect((await call("/whoami", alice)).status).toBe(200);
    // A code minted elsewhere makes its holder a member at once.
    expect((await call("/messages", alice, { text: "hi", to: "bob" })).status).toBe(422);
    const bob = (await issue("bob")).code;
    expect((await call("/messages", alice, { text: "hi", to: "bob" })).status).toBe(200);
    expect((await call("/messages", bob)).status).toBe(200);
    // A revocation elsewhere is a 401 on the very next request.
    expect((await revokeCodes(cli, "bob", "lab")).revoked).toBe(1);
    expect((await call("/whoami", bob)).status).toBe(401);
    expect((await call("/whoami", alice)).status).toBe(200);
  } finally {
    await cli.close();
  }
});

test("a body cut off before its Content-Length or final chunk (client gone) is the client's mistake: nothing logged as a failure, nothing done", async () => {
  const t = newTestApp();
  const listening = t.app.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = listening.server!.port!;
    const truncated = [
      `POST /admin/say HTTP/1.1\r\nHost: t\r\nX-Admin-Token: ${t.relay.adminToken}\r\nContent-Length: 60\r\n\r\n{"text":"hi"`,
      `POST /admin/say HTTP/1.1\r\nHost: t\r\nX-Admin-Token: ${t.relay.adminToken}\r\nTransfer-Encoding: chunked\r\n\r\nd\r\n{"text":"hi"}\r\n`,
      // A route that ignores its body must not run either: the operator's request never finished.
      `POST /admin/regenerate-token HTTP/1.1\r\nHost: t\r\nX-Admin-Token: ${t.relay.adminToken}\r\nContent-Length: 10\r\n\r\n{}`,
    ];
    const token = t.relay.adminToken;
    for (const bytes of truncated) {
      const socket = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
      socket.write(bytes);
      await Bun.sleep(100);
      socket.end();
    }
    await Bun.sleep(200);
    expect(t.errors).toEqual([]);
    expect(t.relay.adminToken).toBe(token);
    expect((await t.relay.store.listAudit(10)).map((e) => e.action)).not.toContain("regenerate_admin_token");
    expect((await t.admin("GET", "/admin/stats")).json.messages).toBe(0);
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
  } finally {
    await t.app.stop(true);
  }
});

test("a request pipelined behind an answer still being computed: the first runs to its end exactly once, counted in flight until then", async () => {
  const t = newTestApp();
  const listening = t.app.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const alice = await t.invite("alice", "lab");
    const body = JSON.stringify({ text: "pipelined" });
    const one = `POST /messages HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ${alice.code}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const chunks: Buffer[] = [];
    const { promise: closed, resolve } = Promise.withResolvers<void>();
    const socket = await Bun.connect({ hostname: "127.0.0.1", port: listening.server!.port!, socket: { data: (_s, d) => { chunks.push(Buffer.from(d)); }, close: () => resolve() } });
    socket.write(one + one);
    await Promise.race([closed, Bun.sleep(1000)]);
    socket.end();
    // Bun 1.4.4 closes such a connection without the first answer (and never runs the second);
    // whatever it writes, the handlers it started finish, and nothing is stored twice or half.
    expect(await t.inFlight.idle(5000)).toBe(true);
    const answered = (Buffer.concat(chunks).toString("latin1").match(/^HTTP\/1\.1 200 /gm) ?? []).length;
    const stored = (await t.admin("GET", "/admin/stats")).json.messages as number;
    expect(stored).toBeGreaterThanOrEqual(1);
    expect(stored - answered === 0 || stored - answered === 1).toBe(true);
    expect((await alice.req("GET", "/history")).json.messages.map((m: { text: string }) => m.text)).toEqual(Array(stored).fill("pipelined"));
    expect(t.errors).toEqual([]);
  } finally {
    await t.app.stop(true);
  }
});

test("InFlight.idle (what shutdown waits on): true once the last request ends, false at its bound with one still running", async () => {
  const f = new InFlight();
  expect(await f.idle(10)).toBe(true);
  f.begin();
  f.begin();
  expect(await f.idle(30)).toBe(false);
  const idle = f.idle(5000);
  f.end();
  await Bun.sleep(20);
  expect(f.count).toBe(1);
  f.end();
  expect(await idle).toBe(true);
  f.end();
  expect(f.count).toBe(0);
});
