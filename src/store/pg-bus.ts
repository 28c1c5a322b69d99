import type { Bus } from "../relay/ports.ts";
import type { PgStore } from "./postgres.ts";

/** How long an expected echo of our own NOTIFY is waited for before it counts as lost. */
const ECHO_TTL_MS = 10_000;

type Listener = (room: string | null, remote: boolean) => void;

/**
 * The Bus over PostgreSQL LISTEN/NOTIFY. The store NOTIFYs the room inside each write's own
 * transaction (one per room per batch, payload = room name), so a notification means "committed".
 * This instance's own writes are announced locally at once and their echoes are skipped;
 * everything else is remote. The listener reconnects by itself (Bun.SQL re-LISTENs); since
 * notifications sent during the gap are lost, every re-LISTEN announces `null` (any room).
 */
export class PgBus implements Bus {
  private readonly listeners = new Set<Listener>();
  /** Expiry times of our own notifications not yet echoed back, per room. */
  private readonly echoes = new Map<string, number[]>();
  private listens = 0;
  private subscription: { unlisten(): Promise<void> } | null = null;

  private constructor(private readonly store: PgStore) {
    store.trackNotifies({ expect: (room) => this.expect(room), cancel: (room) => this.cancel(room) });
  }

  /** LISTENs on the store's database; resolves once the first LISTEN is acknowledged. */
  static async start(store: PgStore): Promise<PgBus> {
    const bus = new PgBus(store);
    const { promise, resolve } = Promise.withResolvers<void>();
    bus.subscription = await store.sql.listen(await store.channel(), (room) => bus.received(room), () => {
      bus.relisten();
      resolve();
    });
    await promise;
    return bus;
  }

  roomChanged(room: string): void {
    for (const l of this.listeners) l(room, false);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** How many times the LISTEN was (re)established; > 1 after a reconnect. */
  get listenCount(): number {
    return this.listens;
  }

  async stop(): Promise<void> {
    await this.subscription?.unlisten().catch(() => {});
    this.subscription = null;
  }

  private expect(room: string): void {
    const list = this.echoes.get(room);
    if (list) list.push(Date.now() + ECHO_TTL_MS);
    else this.echoes.set(room, [Date.now() + ECHO_TTL_MS]);
  }

  private cancel(room: string): void {
    const list = this.echoes.get(room);
    list?.pop();
    if (list && !list.length) this.echoes.delete(room);
  }

  private received(room: string): void {
    const list = this.echoes.get(room);
    if (list) {
      const now = Date.now();
      while (list.length && list[0]! < now) list.shift();
      const own = list.shift() !== undefined;
      if (!list.length) this.echoes.delete(room);
      if (own) return;
    }
    for (const l of this.listeners) l(room, true);
  }

  private relisten(): void {
    this.listens++;
    if (this.listens === 1) return;
    // Notifications sent while the connection was down are gone: every room may have changed.
    this.echoes.clear();
    for (const l of this.listeners) l(null, true);
  }
}
