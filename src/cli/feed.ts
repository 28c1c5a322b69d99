import { EventSource } from "eventsource";
import type { AgentMessage } from "../relay/wake.ts";
import { RelayCallError, type AgentClient } from "./agent-client.ts";

/** What one read of the room brought: messages (ascending) and the highest seq it examined. */
export interface FeedUpdate {
  messages: AgentMessage[];
  cursor: number;
}

/** Why a feed stopped following the room. */
export type FeedEnd =
  | { kind: "room_closed"; closedBy: string | null }
  | { kind: "unauthorized"; message: string }
  /** The relay has no `/messages/stream` (404): follow it with the long-poll instead. */
  | { kind: "unavailable" }
  | { kind: "stopped" };

/**
 * How attach follows a room. `follow` hands every read to `onUpdate` (replays are possible
 * after a reconnect; the caller drops seqs it has seen) and reconnects by itself through relay
 * restarts and network drops, until the room closes, the code is refused or `signal` aborts.
 */
export interface Feed {
  readonly name: "stream" | "long-poll";
  follow(since: number, onUpdate: (u: FeedUpdate) => void, signal: AbortSignal): Promise<FeedEnd>;
}

/** Reconnect delays: doubling from `firstMs` to `maxMs`, back to the start after a success. */
export class Backoff {
  private attempt = 0;
  constructor(private readonly firstMs = 250, private readonly maxMs = 10_000) {}
  next(): number {
    return Math.min(this.maxMs, this.firstMs * 2 ** this.attempt++);
  }
  reset(): void {
    this.attempt = 0;
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Seconds each long-poll parks (the relay clamps it to its MAX_WAIT). */
const POLL_WAIT_SECONDS = 25;

/** The long-poll (`GET /messages?since=&wait=`): works against every relay version. */
export class PollFeed implements Feed {
  readonly name = "long-poll";
  constructor(private readonly client: AgentClient, private readonly notice: (text: string) => void) {}

  async follow(since: number, onUpdate: (u: FeedUpdate) => void, signal: AbortSignal): Promise<FeedEnd> {
    const backoff = new Backoff();
    let cursor = since;
    let failing = false;
    while (!signal.aborted) {
      try {
        const answer = await this.client.poll(cursor, POLL_WAIT_SECONDS, signal);
        if (failing) this.notice(`reconnected to ${this.client.url}`);
        failing = false;
        backoff.reset();
        onUpdate({ messages: answer.messages, cursor: answer.cursor });
        cursor = answer.cursor;
        // An idle_timeout is the relay's valve for agents that poll in a loop; attach costs no
        // turns while it waits, so only a closed room ends it.
        if (answer.should_exit && answer.exit_reason === "room_closed") return { kind: "room_closed", closedBy: answer.room.closed_by };
      } catch (err) {
        if (signal.aborted) break;
        if (err instanceof RelayCallError && err.unauthorized) return { kind: "unauthorized", message: err.message };
        const delay = backoff.next();
        this.notice(`${(err as Error).message}; retrying in ${(delay / 1000).toFixed(1)} s`);
        failing = true;
        await pause(delay, signal);
      }
    }
    return { kind: "stopped" };
  }
}

/** The room event of the stream (sent when the room closes or reopens). */
interface RoomEvent {
  status?: string;
  closed_by?: string | null;
  should_exit?: boolean;
  exit_reason?: string | null;
}

/**
 * The SSE stream (`GET /messages/stream`), read with the `eventsource` client: one `message`
 * event per visible message (`id` = seq), a `room` event when the room closes. A 404 means the
 * relay predates the stream; a 401 means stop; other failures reconnect from the last seq.
 */
export class StreamFeed implements Feed {
  readonly name = "stream";
  constructor(private readonly client: AgentClient, private readonly notice: (text: string) => void) {}

  follow(since: number, onUpdate: (u: FeedUpdate) => void, signal: AbortSignal): Promise<FeedEnd> {
    const backoff = new Backoff();
    let last = since;
    let source: EventSource | null = null;
    let dropped = false;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const authorization = this.client.authorization;
    return new Promise<FeedEnd>((resolve) => {
      const finish = (end: FeedEnd) => {
        clearTimeout(retry);
        source?.close();
        signal.removeEventListener("abort", onAbort);
        resolve(end);
      };
      const onAbort = () => finish({ kind: "stopped" });
      const open = () => {
        const es = new EventSource(`${this.client.url}/messages/stream?since=${last}`, {
          fetch: (input, init) => {
            const headers = new Headers(init?.headers as HeadersInit | undefined);
            headers.set("authorization", authorization);
            return fetch(input, { ...init, headers });
          },
        });
        source = es;
        es.addEventListener("open", () => {
          backoff.reset();
          if (dropped) this.notice(`reconnected to ${this.client.url}`);
          dropped = false;
        });
        es.addEventListener("message", (ev) => {
          const m = parse<AgentMessage>(ev.data);
          if (!m || typeof m.seq !== "number") return;
          last = Math.max(last, m.seq);
          onUpdate({ messages: [m], cursor: last });
        });
        es.addEventListener("room", (ev) => {
          const r = parse<RoomEvent>(ev.data);
          if (r && (r.exit_reason === "room_closed" || (r.should_exit && r.status === "closed"))) finish({ kind: "room_closed", closedBy: r.closed_by ?? null });
        });
        es.addEventListener("error", (ev) => {
          // CONNECTING: the client reconnects by itself (with Last-Event-ID); say so once per drop.
          if (es.readyState !== es.CLOSED) {
            if (!dropped) this.notice("stream dropped; reconnecting");
            dropped = true;
            return;
          }
          dropped = true;
          const status = (ev as Event & { code?: number }).code;
          if (status === 404) return finish({ kind: "unavailable" });
          if (status === 401) return finish({ kind: "unauthorized", message: "the relay refused the code (HTTP 401)" });
          const delay = backoff.next();
          this.notice(`stream ended (${status ? `HTTP ${status}` : "no status"}); reconnecting in ${(delay / 1000).toFixed(1)} s`);
          retry = setTimeout(open, delay);
        });
      };
      if (signal.aborted) return resolve({ kind: "stopped" });
      signal.addEventListener("abort", onAbort, { once: true });
      open();
    });
  }
}

function parse<T>(data: string): T | null {
  try {
    return JSON.parse(data) as T;
  } catch {
    return null;
  }
}

/**
 * `auto`: the stream where the relay has one, else (404) the long-poll from wherever the
 * stream got to. `since` is read again at the switch through `cursor()`.
 */
export async function followAuto(stream: Feed, poll: Feed, since: () => number, onUpdate: (u: FeedUpdate) => void, signal: AbortSignal, notice: (t: string) => void): Promise<FeedEnd> {
  const end = await stream.follow(since(), onUpdate, signal);
  if (end.kind !== "unavailable") return end;
  notice("this relay has no /messages/stream; following it with the long-poll");
  return poll.follow(since(), onUpdate, signal);
}
