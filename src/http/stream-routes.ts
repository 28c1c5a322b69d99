import { Elysia } from "elysia";
import type { StreamEvent } from "../relay/relay.ts";
import { parseIntParam } from "../relay/validate.ts";
import type { RouteDeps } from "./deps.ts";
import { guards } from "./auth.ts";
import { agentDocsFor } from "./schemas.ts";
import { iso, wireReadMessage } from "./wire.ts";

/**
 * GET /messages/stream   Server-Sent Events for an agent: `message` and `room` events, resuming
 *                        from Last-Event-ID (wins) or ?since= (default 0, as the poll)
 */
export function streamRoutes({ relay, config, logError }: RouteDeps) {
  const docs = agentDocsFor(config);
  const idleMs = config.streamHeartbeatSeconds * 1000;
  return new Elysia({ name: "argybargy-stream-routes" })
    .use(guards(relay))
    .get("/messages/stream", ({ agent, query, request, server, set }) => {
      const since = parseIntParam(query.since, "since", 0, 0);
      const resume = request.headers.get("last-event-id")?.trim() || undefined;
      const from = parseIntParam(resume, "Last-Event-ID", since, 0);
      // A stream is quiet for up to a heartbeat; Bun's idle timeout must never cut it.
      server?.timeout(request, 0);
      const headers = { ...(set.headers as Record<string, string>), ...STREAM_HEADERS };
      if (request.method === "HEAD") return new Response(null, { headers });
      // The stream's cancel() (the client went away) ends the follow; request.signal is not needed.
      const gone = new AbortController();
      const events = relay.follow(agent, from, { idleMs, signal: gone.signal, credential: request.headers.get("authorization") });
      return new Response(eventStream(events, () => gone.abort(), (err) => logError(crypto.randomUUID(), err)), { headers });
    }, { agent: true, ...docs.stream });
}

const STREAM_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  // Tells nginx-style proxies not to buffer the stream.
  "x-accel-buffering": "no",
};

/** How long an `eventsource` client waits before reconnecting after the stream ends. */
const RETRY_MS = 2000;

const encoder = new TextEncoder();

/** One event in SSE framing; JSON never contains a raw newline, so `data:` is one line. */
function frame(e: StreamEvent): string {
  switch (e.kind) {
    case "message":
      return `id: ${e.message.seq}\nevent: message\ndata: ${JSON.stringify(wireReadMessage(e.message))}\n\n`;
    case "room": {
      const { status: s, budget: b } = e;
      const data = { room: s.name, status: s.status, closed_at: iso(s.closedAtMs), closed_by: s.closedBy, should_exit: b.shouldExit, exit_reason: b.reason };
      return `event: room\ndata: ${JSON.stringify(data)}\n\n`;
    }
    case "idle":
      return ": ping\n\n";
  }
}

/**
 * The events as a pull-driven byte stream: the next event is read only when the client has
 * taken the last one, so a slow client holds one event, not a queue. A manual ReadableStream
 * because its `cancel` runs about 2 ms after the client goes (STACK.md §14); `stop` then ends
 * the generator's park at once, which frees its waiter and its slot.
 */
function eventStream(events: AsyncGenerator<StreamEvent>, stop: () => void, onError: (err: unknown) => void): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      // Bun sends the headers with the first chunk, so one goes out at once.
      controller.enqueue(encoder.encode(`retry: ${RETRY_MS}\n: argybargy stream\n\n`));
    },
    async pull(controller) {
      let next: IteratorResult<StreamEvent>;
      try {
        next = await events.next();
      } catch (err) {
        onError(err);
        next = { done: true, value: undefined };
      }
      try {
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(frame(next.value)));
      } catch {
        // The client went away between the event and the write; cancel() has stopped the generator.
      }
    },
    cancel() {
      stop();
    },
  });
}
