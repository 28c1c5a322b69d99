// A real server process and a real headless Chromium for dashboard tests: the server listens on
// 127.0.0.1 port 0 with a throwaway data dir, pages record every request and console error, and
// both stop in afterAll. Chromium is required: without /usr/bin/chromium (or $CHROMIUM) every
// test that opens a page fails with the reason.
import { afterAll, beforeAll } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";

const repo = resolve(import.meta.dir, "../..");
/** The Chromium binary the tests drive. */
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** An open page, what it requested and which console errors it logged. */
export interface Opened { page: Page; requests: string[]; errors: string[]; close: () => Promise<void> }
/**
 * A page's stored token (null: none), viewport, theme, whether it is a touch phone, and whether
 * the server is expected to refuse its token (Chromium then logs the 401/403 itself).
 */
export interface OpenOptions { token?: string | null; width?: number; height?: number; theme?: string; mobile?: boolean; expectRefusal?: boolean }

async function readListenUrl(proc: Bun.Subprocess<"ignore", "pipe", "pipe">): Promise<string> {
  const reader = proc.stdout.getReader();
  const dec = new TextDecoder();
  let buf = "";
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    const m = buf.match(/listening on (http:\/\/\S+)/);
    if (m) { reader.releaseLock(); return m[1]!; }
  }
  throw new Error(`the server never printed its listening URL; stdout was:\n${buf}`);
}

/**
 * Registers beforeAll/afterAll that start `bun src/main.ts serve` (with `env` on top of the
 * caller's environment) and Chromium, and returns the API and page helpers bound to them.
 */
export function dashboardHarness(env: Record<string, string> = {}) {
  let data = "";
  let server: Bun.Subprocess<"ignore", "pipe", "pipe"> | null = null;
  let browser: Browser | null = null;
  let setupError: string | null = null;
  const h = {
    base: "",
    token: "",
    /** Every off-origin request and console error of every page, for whole-run assertions. */
    offOrigin: [] as string[],
    consoleErrors: [] as string[],

    ready(): void {
      if (setupError) throw new Error(setupError);
    },

    async admin(path: string, body?: unknown): Promise<{ status: number; json: any }> {
      const r = await fetch(h.base + path, {
        method: body === undefined ? "GET" : "POST",
        headers: { "X-Admin-Token": h.token, "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: r.status, json: await r.json().catch(() => null) };
    },

    async invite(name: string, room: string, capabilities?: string): Promise<string> {
      const r = await h.admin("/admin/invite", { name, room, capabilities });
      if (r.status !== 200) throw new Error(`invite ${name}@${room} → ${r.status} ${JSON.stringify(r.json)}`);
      return r.json.code as string;
    },

    /** An agent's calls: post (any body fields), a long-poll, claim, ack. */
    asAgent(code: string) {
      const headers = { Authorization: `Bearer ${code}`, "Content-Type": "application/json" };
      const call = async (method: string, path: string, body?: unknown) => {
        const r = await fetch(h.base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
        return { status: r.status, json: (await r.json().catch(() => null)) as any };
      };
      return {
        call,
        post: async (body: Record<string, unknown>) => {
          const r = await call("POST", "/messages", body);
          if (r.status !== 200) throw new Error(`post → ${r.status} ${JSON.stringify(r.json)}`);
          return r.json.message.seq as number;
        },
        poll: async (since: number, wait = 0) => (await call("GET", `/messages?since=${since}&wait=${wait}`)).json,
        claim: (seq: number, ttl_s?: number) => call("POST", `/messages/${seq}/claim`, ttl_s === undefined ? undefined : { ttl_s }),
        ack: (upTo: number) => call("POST", "/messages/ack", { up_to: upTo }),
      };
    },

    async open(path: string, opts: OpenOptions = {}): Promise<Opened> {
      h.ready();
      const ctx = await browser!.newContext({
        viewport: { width: opts.width ?? 1280, height: opts.height ?? 820 },
        isMobile: !!opts.mobile, hasTouch: !!opts.mobile,
      });
      const stored = opts.token === undefined ? h.token : opts.token;
      if (stored !== null) {
        // Only on the first load of the context, so a token saved by the page survives a reload.
        await ctx.addInitScript(([t, th]) => {
          if (!sessionStorage.getItem("seeded")) {
            localStorage.setItem("cc_admin", t!);
            if (th) localStorage.setItem("cc_theme", th);
            sessionStorage.setItem("seeded", "1");
          }
        }, [stored, opts.theme ?? ""]);
      }
      const page = await ctx.newPage();
      const requests: string[] = [];
      const errors: string[] = [];
      page.on("request", (r) => {
        requests.push(r.url());
        if (!r.url().startsWith(h.base + "/") && !r.url().startsWith("data:")) h.offOrigin.push(r.url());
      });
      page.on("console", (m) => {
        if (m.type() !== "error") return;
        // A refused token is logged by Chromium itself as a failed resource load; that is the test.
        if (opts.expectRefusal && /status of 40[13]/.test(m.text())) return;
        errors.push(m.text());
        h.consoleErrors.push(`${path}: ${m.text()}`);
      });
      page.on("pageerror", (e) => { errors.push(String(e)); h.consoleErrors.push(`${path}: ${e}`); });
      await page.goto(h.base + path);
      return { page, requests, errors, close: () => ctx.close() };
    },
  };

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      setupError = `Chromium is required for the dashboard tests but ${CHROMIUM} does not exist. Install it (apt-get install -y chromium) or set CHROMIUM.`;
      return;
    }
    data = mkdtempSync(join(tmpdir(), "argy-dash-"));
    server = Bun.spawn(["bun", "src/main.ts", "serve", "--port", "0"], {
      cwd: repo,
      env: { ...process.env, ARGYBARGY_DATA: data, NODE_ENV: "production", ...env },
      stdin: "ignore", stdout: "pipe", stderr: "pipe",
    });
    try {
      h.base = await readListenUrl(server);
      h.token = readFileSync(join(data, "admin.token"), "utf8").trim();
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    } catch (e) {
      setupError = e instanceof Error ? e.message : String(e);
    }
  }, 40_000);

  afterAll(async () => {
    await browser?.close();
    if (server) { server.kill(); await server.exited; }
    if (data) rmSync(data, { recursive: true, force: true });
  });

  return h;
}
