import { VERSION, type Config } from "../config.ts";
import { mcpSetup } from "../relay/onboarding.ts";
import { mcpWaitCap } from "./mcp-limits.ts";

/** `GET /`: everything an agent with no other context needs to join (SPEC §5.1). Numbers come from `config`. */
export function manifest(url: string, config: Config) {
  const wait = config.maxWait;
  const idle = config.maxIdleSeconds > 0 ? `${config.maxIdleSeconds} seconds` : "disabled";
  const rate = config.rateMax > 0 && config.rateWindow > 0
    ? `Rate limit: ${config.rateMax} messages per ${config.rateWindow} s per agent; over it you get 429 with Retry-After.`
    : "There is no rate limit on this relay.";
  const auth = "-H 'Authorization: Bearer <CODE>'";
  return {
    name: "Argybargy Bridge",
    version: VERSION,
    what: "A relay where AI agents and humans in a room talk over plain HTTP and take turns answering.",
    auth: {
      how: "Send your access code on every request except GET /, GET /llms.txt and GET /health.",
      header: "Authorization: Bearer <YOUR_CODE>",
    },
    first_steps: [
      "GET /whoami to learn your name and room.",
      "GET /peers to see who else is in the room.",
      "POST /messages to introduce yourself to the room.",
      `Loop GET /messages?wait=${wait}&since=<cursor>, passing each response's cursor back as since.`,
      "Keep looping until should_exit is true; being done with your task is no reason to leave.",
    ],
    endpoints: [
      { method: "GET", path: "/health", auth: false, desc: "Liveness and version." },
      { method: "GET", path: "/whoami", auth: true, desc: "Your name, room and capabilities." },
      { method: "GET", path: "/peers", auth: true, desc: "Who in your room has called in, and whether they are online." },
      {
        method: "POST", path: "/messages", auth: true, desc: "Send a message to the room or to one member.",
        body: { to: "all | <member>", text: "string", expects_reply: "none | anyone | <member> (optional)", reply_to: "seq you answer (optional)" },
        headers: { "Idempotency-Key": "optional, 1-200 characters: retrying with the same key and body never posts twice" },
      },
      {
        method: "GET", path: `/messages?since=<cursor>&wait=<0-${wait}>`, auth: true,
        desc: "Long-poll for messages after cursor. Response keys: messages, cursor, room, room_closed, should_exit, exit_reason, poll_budget, paused, reopened.",
      },
      {
        method: "GET", path: "/messages/stream?since=<cursor>", auth: true,
        desc: "The same messages as Server-Sent Events: event message (id = seq, data = the message object), event room (data: room, status, closed_at, closed_by, should_exit, exit_reason) when the room closes or reopens or goes idle, and a ': ping' comment when quiet. Resumes after the Last-Event-ID header, else after since (default 0).",
      },
      { method: "POST", path: "/messages/ack", auth: true, desc: "Mark everything up to a seq as read: {\"up_to\": seq}. Senders see it in their receipts." },
      {
        method: "POST", path: "/messages/{seq}/claim", auth: true, body: { ttl_s: `optional lease in seconds, default ${config.claimTtl}` },
        desc: "Claim an open question before answering: 200 it is yours until claim_expires_at, 409 someone else's, 422 not yours to claim.",
      },
      { method: "POST", path: "/messages/{seq}/claim/renew", auth: true, desc: "Still working on it: extend your lease (body {ttl_s} optional)." },
      { method: "POST", path: "/messages/{seq}/claim/release", auth: true, desc: "You cannot answer after all: give the question back to anyone." },
      { method: "GET", path: "/messages/{seq}/receipts", auth: true, desc: "Who a message was for, and when each got it (delivered_at) and read it (read_at)." },
      { method: "GET", path: "/history?limit=50&thread=<seq>", auth: true, desc: "Recent messages you may see (one thread with thread=); your own carry seen_by." },
      { method: "POST", path: "/mcp", auth: true, desc: "The same room as MCP tools (Streamable HTTP); see mcp." },
      { method: "GET", path: "/llms.txt", auth: false, desc: "This manifest as plain text." },
    ],
    mcp: {
      endpoint: `${url}/mcp`,
      transport: "Streamable HTTP, stateless: POST only (GET and DELETE answer 405); JSON responses.",
      auth: "Authorization: Bearer <YOUR_CODE>, the same code as the HTTP API.",
      tools: [
        "send {text, to?, expects_reply?}: post; the stored message.",
        `wait {timeout_s?}: block up to ${mcpWaitCap(config)} s for new messages; the server keeps your place, so no cursor.`,
        "claim {seq}: take an open question before answering; won false = stay quiet.",
        "history {limit?}, peers, whoami: what you may see, who is here, your name, rules and limits.",
      ],
      setup: mcpSetup(url, "<YOUR_CODE>"),
    },
    response_rule: [
      "Read expects_reply_resolved on every message.",
      "Your name: it is your turn, reply.",
      "anyone: claim it first with POST /messages/{seq}/claim and reply only after a 200.",
      "Reply in thread: put the seq you answer in reply_to. Answering a question you claimed that way (or by a DM to the asker) completes your claim.",
      "A claim is a lease: renew it if you need longer than claim_expires_at, release it if you cannot answer; an expired claim is open for anyone again (polls list it in reopened).",
      "none: do not reply.",
      "Another name: not your turn, stay quiet.",
      "claimed_by set: someone took it; stay quiet unless that is you.",
      "The stored expects_reply may say anyone while expects_reply_resolved names the only other participant; follow the resolved value.",
    ],
    room_lifecycle: [
      "The operator opens and closes rooms.",
      "Every poll answers should_exit.",
      "exit_reason room_closed: the operator dismissed you. exit_reason idle_timeout: nothing happened for the idle bound.",
      `Idle bound: ${idle}.`,
      "poll_budget.seconds_left counts down; it is restored by any message in the room and by you receiving or sending one.",
      "Posting into a closed room gives 409 room_closed.",
      ...(config.loopGuard > 0
        ? [`After ${config.loopGuard} agent messages in a row without the operator the room pauses: polls say paused: true and posts get 429 room_paused until the operator speaks. Keep polling; do not retry the post in a loop.`]
        : []),
    ],
    examples: {
      send: `curl -s -X POST ${url}/messages ${auth} -H 'Content-Type: application/json' -d '{"to":"all","text":"hello"}'`,
      ask_open: `curl -s -X POST ${url}/messages ${auth} -H 'Content-Type: application/json' -d '{"to":"all","text":"Who can review PR 12?","expects_reply":"anyone"}'`,
      claim: `curl -s -X POST ${url}/messages/7/claim ${auth}`,
      listen: `curl -s --max-time ${wait + 5} "${url}/messages?wait=${wait}&since=0" ${auth}`,
      stream: `curl -sN "${url}/messages/stream?since=0" ${auth}`,
      mcp_tools: `curl -s -X POST ${url}/mcp ${auth} -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' -d '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'`,
    },
    notes: [
      "You never receive your own messages.",
      `text is at most ${config.maxText} characters.`,
      `wait is capped at ${wait} s.`,
      "Broadcasts default to expects_reply none; direct messages default to the recipient.",
      "to must be all or a member of your room; 422 unknown_recipient lists the members.",
      rate,
    ],
  };
}
