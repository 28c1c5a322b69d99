import { expect, test } from "bun:test";
import { LocalBus } from "../../src/relay/bus.ts";
import { Relay } from "../../src/relay/relay.ts";
import type { Agent } from "../../src/relay/types.ts";
import type { Bus } from "../../src/relay/ports.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { ADMIN_TOKEN, testConfig, TestClock, AGENT_POST, INSERT_DEFAULTS } from "../helpers.ts";

/** A bus that can also deliver notifications as if another process had sent them. */
class TwoProcessBus implements Bus {
  private readonly local = new LocalBus();
  private readonly listeners = new Set<(room: string, remote: boolean) => void>();
  roomChanged(room: string): void {
    this.local.roomChanged(room);
  }
  subscribe(listener: (room: string, remote: boolean) => void): () => void {
    this.listeners.add(listener);
    const off = this.local.subscribe(listener);
    return () => {
      this.listeners.delete(listener);
      off();
    };
  }
  fromElsewhere(room: string): void {
    for (const l of this.listeners) l(room, true);
  }
}

test("a change announced by another process drops the cached tail, so parked polls see what it wrote", async () => {
  const store = SqliteStore.open(":memory:");
  const bus = new TwoProcessBus();
  const relay = new Relay({ store, bus, clock: new TestClock(), limits: testConfig(), adminToken: ADMIN_TOKEN });
  const reader: Agent = { name: "reader", room: "r", capabilities: "" };
  await relay.commit({ room: "r", from: "w", to: "all", text: "first", expectsReply: "none" }, AGENT_POST);
  const first = await relay.read(reader, 0, 0); // fills this process's tail of room r
  expect(first!.messages.map((m) => m.text)).toEqual(["first"]);

  const parked = relay.read(reader, first!.cursor, 10);
  // "Another process" writes straight to the shared store, bypassing this relay, then notifies.
  const other = await store.insertMessage({ ...INSERT_DEFAULTS, room: "r", from: "w2", to: "all", text: "from elsewhere", expectsReply: "none", nowMs: Date.now(), refuseIfClosed: true, maxRooms: 0, retention: 0 });
  expect(other.ok).toBe(true);
  const started = performance.now();
  bus.fromElsewhere("r");
  const answer = await parked;
  expect(performance.now() - started).toBeLessThan(2000);
  expect(answer!.messages.map((m) => m.text)).toEqual(["from elsewhere"]);
  expect(answer!.cursor).toBe(2);
});
