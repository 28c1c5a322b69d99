import { EventSource } from "eventsource";
import { startServer, type RunningServer } from "../../src/cli/serve.ts";
import { tempDir, testConfig } from "../helpers.ts";

/** A real server on 127.0.0.1 port 0 with a temp data dir; `close` stops it and removes the dir. */
export async function streamServer(env: Record<string, string> = {}) {
  const dir = tempDir("argy-stream-");
  const server: RunningServer = await startServer(testConfig({
    ARGYBARGY_PORT: "0", ARGYBARGY_LOG_LEVEL: "error", ARGYBARGY_RATE_MAX: "0", ARGYBARGY_AUTH_FAIL_MAX: "0", ...env,
  }, dir.path));
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method, headers: { "x-admin-token": server.adminToken }, body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<any>;
  };
  const invite = async (name: string, room = "lab"): Promise<string> => (await admin("POST", "/admin/invite", { name, room })).code;
  const post = async (code: string, body: Record<string, unknown>) => {
    const res = await fetch(`${server.url}/messages`, { method: "POST", headers: { authorization: `Bearer ${code}` }, body: JSON.stringify(body) });
    if (res.status !== 200) throw new Error(`post: ${res.status} ${await res.text()}`);
    return (await res.json() as any).message;
  };
  const close = async () => {
    await server.stop();
    dir.cleanup();
  };
  return { server, url: server.url, relay: server.relay, admin, invite, post, close };
}

export type Received = { type: string; id: string; data: any };

/**
 * The npm `eventsource` client on `/messages/stream` with a bearer code; records every event and
 * every request it made (to see the Last-Event-ID it resumed with). `until` waits for a condition.
 */
export function listen(base: string, code: string, query = "") {
  const events: Received[] = [];
  const requests: Headers[] = [];
  let opened = 0;
  const es = new EventSource(`${base}/messages/stream${query}`, {
    fetch: (url, init) => {
      const headers = new Headers(init.headers);
      headers.set("authorization", `Bearer ${code}`);
      requests.push(headers);
      return fetch(url, { ...init, headers });
    },
  });
  es.onopen = () => opened++;
  for (const type of ["message", "room"]) {
    es.addEventListener(type, (e) => events.push({ type, id: (e as MessageEvent).lastEventId, data: JSON.parse((e as MessageEvent).data) }));
  }
  const messages = () => events.filter((e) => e.type === "message").map((e) => e.data);
  return { es, events, requests, messages, opened: () => opened, close: () => es.close() };
}

/** Polls `cond` every 10 ms until true, failing after `ms` with `what`. */
export async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

/** A raw fetch of the stream, read chunk by chunk as text, for headers, comments and endings. */
export async function rawStream(base: string, code: string | null, opts: { query?: string; headers?: Record<string, string> } = {}) {
  const ctl = new AbortController();
  const headers: Record<string, string> = { ...opts.headers };
  if (code !== null) headers.authorization = `Bearer ${code}`;
  const res = await fetch(`${base}/messages/stream${opts.query ?? ""}`, { headers, signal: ctl.signal });
  let text = "";
  let ended = false;
  const reading = (async () => {
    if (!res.body) return;
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body) text += decoder.decode(chunk, { stream: true });
    } catch {
      // aborted by the test
    }
    ended = true;
  })();
  return { res, text: () => text, ended: () => ended, reading, abort: () => ctl.abort() };
}
