import type { Metrics } from "./metrics.ts";
import type { Store } from "./ports.ts";

/**
 * The same Store with every call timed into `store_seconds{op=<method>}` (the op names are
 * the Store's method names: a bounded set). Failed calls are timed too. Used where metrics
 * are exported; the domain sees an ordinary Store.
 */
export function timedStore(store: Store, metrics: Metrics): Store {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== "function" || key === "close" || typeof key !== "string") return value;
      let fn = wrapped.get(key);
      if (!fn) {
        const op = key;
        fn = (...args: unknown[]) => {
          const t0 = metrics.now();
          const done = () => metrics.observe("store_seconds", (metrics.now() - t0) / 1000, op);
          const result = (value as (...a: unknown[]) => unknown).apply(target, args);
          if (result instanceof Promise) return result.finally(done);
          done();
          return result;
        };
        wrapped.set(key, fn);
      }
      return fn;
    },
  });
}
