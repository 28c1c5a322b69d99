import { afterAll, beforeAll } from "bun:test";
import { Relay } from "../../src/relay/relay.ts";
import { PgBus } from "../../src/store/pg-bus.ts";
import { PgStore } from "../../src/store/postgres.ts";
import { ADMIN_TOKEN, testConfig, TestClock } from "../helpers.ts";
import { freshSchemaUrl } from "../pg-cluster.ts";

/**
 * Relay "instances" in one process on one fresh schema: each `instance()` has its own pool,
 * LISTEN connection and Relay (limits from `env`). Registers beforeAll/afterAll; everything
 * opened is closed after the file's tests.
 */
export function pgInstances(env: Record<string, string>) {
  let url = "";
  const stores: PgStore[] = [];
  const buses: PgBus[] = [];
  beforeAll(async () => {
    url = await freshSchemaUrl();
  });
  afterAll(async () => {
    for (const b of buses) await b.stop();
    for (const s of stores) await s.close();
  });
  return {
    /** The schema's URL (known once beforeAll ran). */
    url: () => url,
    /** One more instance; `open` makes its store (a migrated PgStore by default). */
    async instance<S extends PgStore = PgStore>(open: (url: string) => Promise<S> = (u) => PgStore.open(u, { max: 3 }) as Promise<S>) {
      const store = await open(url);
      stores.push(store);
      const bus = await PgBus.start(store);
      buses.push(bus);
      const relay = new Relay({ store, bus, clock: new TestClock(), limits: testConfig(env), adminToken: ADMIN_TOKEN });
      return { store, bus, relay };
    },
  };
}
