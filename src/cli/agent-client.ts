import { readFileSync } from "node:fs";
import type { AgentEnv } from "../config.ts";
import type { AgentMessage } from "../relay/wake.ts";
import { flagUrl, jsonOf, oneLine } from "./context.ts";
import { fail } from "./output.ts";

/** The flags every agent-side verb (`attach`, `hook`, `connect`) shares. */
export const agentArgs = {
  url: { type: "string", description: "Relay URL (default ARGYBARGY_URL, else http://127.0.0.1:<ARGYBARGY_PORT>)" },
  code: { type: "string", description: "The agent's code (visible in ps: prefer ARGYBARGY_CODE or --code-file)" },
  "code-file": { type: "string", description: "A file holding the agent's code (default ARGYBARGY_CODE_FILE)" },
} as const;

/** The relay URL: --url > ARGYBARGY_URL > http://127.0.0.1:<port>. Exit 1 when it is not http(s). */
export function agentUrl(flag: string | undefined, env: AgentEnv, port: number): string {
  const raw = flag ?? env.url;
  return raw === undefined ? `http://127.0.0.1:${port}` : flagUrl(raw);
}

/**
 * The code: --code > --code-file > ARGYBARGY_CODE > ARGYBARGY_CODE_FILE, trimmed. Without one
 * the command ends with exit 1 saying how to give one.
 */
export function agentCode(flags: { code?: string; "code-file"?: string }, env: AgentEnv): string {
  const fromFile = (path: string) => {
    try {
      const text = readFileSync(path, "utf8").trim();
      if (text) return text;
    } catch (err) {
      fail(`cannot read the code file ${path} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
    }
    fail(`the code file ${path} is empty`);
  };
  const code = flags.code?.trim() || (flags["code-file"] ? fromFile(flags["code-file"]) : undefined) || env.code || (env.codeFile ? fromFile(env.codeFile) : undefined);
  if (code) return code;
  fail("no agent code: set ARGYBARGY_CODE, pass --code-file FILE, or --code CODE (the operator's `argybargy invite` prints one)");
}

/** A relay answer that is not a success: `status` 0 means the relay could not be reached. */
export class RelayCallError extends Error {
  constructor(readonly status: number, readonly error: string, message: string) {
    super(message);
  }

  /** The code is unknown, expired or revoked: retrying cannot help. */
  get unauthorized(): boolean {
    return this.status === 401;
  }

  /** Worth retrying later: unreachable, a 5xx, a 429 or a proxy's 502/503/504. */
  get transient(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

/** `GET /messages`, as attach and the hooks read it. */
export interface PollAnswer {
  messages: AgentMessage[];
  cursor: number;
  room: { name: string; status: string; closed_at: string | null; closed_by: string | null };
  should_exit: boolean;
  exit_reason: string | null;
}

/** Seconds a single non-parking call may take. */
const CALL_TIMEOUT_MS = 15_000;

/** A small client of the agent API for one code; every failure is a RelayCallError, never a crash. */
export class AgentClient {
  constructor(readonly url: string, private readonly code: string) {}

  /** The `Authorization` header (for transports that make their own requests). */
  get authorization(): string {
    return `Bearer ${this.code}`;
  }

  whoami(signal?: AbortSignal): Promise<{ name: string; room: string; capabilities: string }> {
    return this.call("GET", "/whoami", undefined, signal);
  }

  /** The agent's durable positions (`GET /messages/position`). */
  position(signal?: AbortSignal): Promise<{ room: string; name: string; delivered_seq: number; read_seq: number }> {
    return this.call("GET", "/messages/position", undefined, signal);
  }

  /** Raises the read position to `upTo` (`POST /messages/ack`). */
  ack(upTo: number, signal?: AbortSignal): Promise<{ ok: boolean; read_seq: number }> {
    return this.call("POST", "/messages/ack", { up_to: upTo }, signal);
  }

  /** One long-poll from `since`, parking up to `waitSeconds`. */
  poll(since: number, waitSeconds: number, signal?: AbortSignal): Promise<PollAnswer> {
    return this.call("GET", `/messages?since=${since}&wait=${waitSeconds}`, undefined, signal, waitSeconds * 1000 + CALL_TIMEOUT_MS);
  }

  private async call<T>(method: string, path: string, body: unknown, signal?: AbortSignal, timeoutMs = CALL_TIMEOUT_MS): Promise<T> {
    const timeout = AbortSignal.timeout(timeoutMs);
    let res: Response;
    try {
      res = await fetch(`${this.url}${path}`, {
        method,
        headers: { authorization: this.authorization, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        redirect: "manual",
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      const e = err as Error & { code?: string };
      const why = e.name === "TimeoutError" ? `no answer within ${timeoutMs / 1000} s` : e.code ?? oneLine(e.message);
      throw new RelayCallError(0, "unreachable", `could not reach ${this.url} (${why})`);
    }
    const json = await jsonOf(res);
    if (!res.ok) {
      const error = json && typeof json.error === "string" ? json.error : "http_error";
      const detail = json && typeof json.message === "string" ? `: ${oneLine(json.message)}` : "";
      throw new RelayCallError(res.status, error, `${method} ${path} answered HTTP ${res.status} ${error}${detail}`);
    }
    if (json === null || typeof json !== "object") throw new RelayCallError(res.status, "not_json", `${method} ${path} answered without JSON; is ${this.url} an argybargy relay?`);
    return json as T;
  }
}
