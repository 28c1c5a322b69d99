import type { Config } from "../config.ts";
import { DataDir } from "../store/files.ts";
import { flagUrl, jsonOf, oneLine } from "./context.ts";
import { fail } from "./output.ts";

/** Control calls give up after this long (SPEC §8). */
export const CONTROL_TIMEOUT_MS = 20_000;

/**
 * Where control verbs (`post`, `rooms`, `close`, `reopen`, `health`) send requests: --url >
 * http://127.0.0.1:<port>. Never url.txt, so the admin token does not cross a tunnel unasked.
 */
export function controlUrl(config: Config, flag: string | undefined): string {
  return flag === undefined ? `http://127.0.0.1:${config.port}` : flagUrl(flag);
}

/** `/admin/rooms/<room>/<action>` with the room URL-encoded. */
export function roomPath(room: string, action: "close" | "reopen"): string {
  return `/admin/rooms/${encodeURIComponent(room)}/${action}`;
}

/**
 * A small fetch wrapper for a running bridge. Admin calls read `admin.token` on every call
 * (it may have been regenerated). Every failure ends the command with one line and exit 1.
 */
export class ControlClient {
  constructor(
    readonly baseUrl: string,
    private readonly dataDir: DataDir,
    private readonly timeoutMs = CONTROL_TIMEOUT_MS,
  ) {}

  /** An `/admin/*` call with `X-Admin-Token`; `body` is sent as JSON. Returns the parsed JSON. */
  async admin<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    const token = this.dataDir.readToken();
    if (token === null) {
      fail(`no admin token at ${this.dataDir.tokenPath}; start the bridge once with \`argybargy serve\` or \`argybargy up\``);
    }
    if (token === "") fail(`the admin token file ${this.dataDir.tokenPath} is empty; restart the bridge (\`argybargy up\`) to write a new one`);
    const headers: Record<string, string> = { "X-Admin-Token": token };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return this.request<T>(method, path, { headers, body: body === undefined ? undefined : JSON.stringify(body) }, true);
  }

  /** A public call (`/health`): no token is read or sent. */
  async public<T>(path: string): Promise<T> {
    return this.request<T>("GET", path, {}, false);
  }

  private async request<T>(method: string, path: string, init: RequestInit, admin: boolean): Promise<T> {
    const url = `${this.baseUrl}${path}`;
    let res: Response;
    try {
      res = await fetch(url, { ...init, method, signal: AbortSignal.timeout(this.timeoutMs), redirect: "manual" });
    } catch (err) {
      const e = err as Error & { code?: string };
      const why = e.name === "TimeoutError" ? `no answer within ${this.timeoutMs / 1000} s` : e.code ?? oneLine(e.message);
      fail(`could not reach ${this.baseUrl} (${why}); is the bridge running? Start it with \`argybargy up\` or pass --url`);
    }
    const json = await jsonOf(res);
    if (admin && (res.status === 401 || res.status === 403)) {
      fail(`the bridge at ${this.baseUrl} rejected the admin token (HTTP ${res.status}); it may have been regenerated: run \`argybargy token\` and check ARGYBARGY_DATA`);
    }
    if (!res.ok) {
      const detail = json && typeof json.error === "string" ? `${json.error}: ${oneLine(String(json.message ?? ""))}` : "no error body";
      fail(`${method} ${url} failed: HTTP ${res.status} ${detail}`);
    }
    if (json === null) fail(`${method} ${url} answered HTTP ${res.status} without JSON; is that an argybargy bridge?`);
    return json as T;
  }
}
