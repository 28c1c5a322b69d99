import type { Database } from "bun:sqlite";

/** When and how far the worker checkpoints; the defaults suit a server, tests shrink them. */
export interface CheckpointerOptions {
  /** How often the worker looks for new commits (a look costs no fsync; a checkpoint costs two). */
  everyMs: number;
  /**
   * WAL frames (4 KiB pages) past which the worker asks for a catch-up: under a steady stream of
   * posts a PASSIVE checkpoint never finds the WAL quiet, and SQLite restarts the WAL from its
   * beginning only when everything in it has been copied back.
   */
  catchUpFrames: number;
  /** Longest the posts wait for a catch-up; past it they go ahead and the next catch-up tries again. */
  catchUpMaxMs: number;
  /** The WAL file is cut back to this many bytes when it restarts (it keeps its largest size otherwise). */
  walSizeLimit: number;
}

/** The server's settings: a look every 100 ms, a catch-up past 8,000 frames (about 32 MiB). */
export const CHECKPOINTER_DEFAULTS: CheckpointerOptions = { everyMs: 100, catchUpFrames: 8000, catchUpMaxMs: 1000, walSizeLimit: 64 * 1024 * 1024 };

// The worker's whole program. It is a Blob, not a file, so the compiled binary needs no second
// entry point. It opens its own connection and, whenever any connection committed since its last
// look (PRAGMA data_version moved), runs a PASSIVE checkpoint, which never blocks the serving
// connection's readers or writers. It says "behind" when the WAL is long and still not fully
// copied back, and answers "caught-up" to "catch-up" after one more checkpoint.
const WORKER_SOURCE = `
import { Database } from "bun:sqlite";
let db = null, timer = null, seen = -1, limit = 0;
const fail = (err) => postMessage({ kind: "error", message: String((err && err.message) || err) });
const checkpoint = () => db.query("PRAGMA wal_checkpoint(PASSIVE)").get();
const tick = () => {
  try {
    const v = db.query("PRAGMA data_version").get().data_version;
    if (v === seen) return;
    seen = v;
    const r = checkpoint();
    if (r.log > limit) postMessage({ kind: "behind" });
  } catch (err) {
    clearInterval(timer);
    fail(err);
  }
};
self.onmessage = ({ data }) => {
  try {
    if (data.kind === "open") {
      db = new Database(data.path, { readwrite: true, create: false });
      db.run("PRAGMA busy_timeout = 5000");
      db.run("PRAGMA synchronous = " + data.synchronous);
      limit = data.catchUpFrames;
      timer = setInterval(tick, data.everyMs);
      postMessage({ kind: "ready" });
    } else if (data.kind === "catch-up") {
      checkpoint();
      postMessage({ kind: "caught-up" });
    } else if (data.kind === "close") {
      clearInterval(timer);
      if (db) db.close();
      db = null;
      postMessage({ kind: "closed" });
    }
  } catch (err) {
    fail(err);
  }
};
`;

/**
 * Moves WAL checkpoints off the event loop. SQLite's automatic checkpoint runs inside whichever
 * COMMIT crosses 1,000 WAL pages, so one post in a few hundred waited for two fsyncs (5–25 ms
 * here) and every post paid for them on average. Once the worker has opened its own connection,
 * the serving connection's `wal_autocheckpoint` is set to 0 and the worker checkpoints what was
 * committed, looking every `everyMs`. When posts never pause long enough for the WAL
 * to be copied back in full, `holding` turns true for one checkpoint (the store queues posts
 * meanwhile, as a COMMIT with an automatic checkpoint would have waited) and `onResume` runs.
 * If the worker cannot start or fails, the serving connection checkpoints itself again.
 */
export class Checkpointer {
  private worker: Worker | null = null;
  private active = false;
  private closed: Promise<void> | null = null;
  // Revoked once the worker has loaded: revoking it at once would cancel the load.
  private url = "";
  private holdTimer: ReturnType<typeof setTimeout> | null = null;
  /** Called when a hold ends (the store writes the posts it queued meanwhile). */
  onResume: () => void = () => {};

  /** Starts the worker for the database file `path` (nothing for `:memory:`). */
  constructor(private readonly db: Database, path: string, synchronous: "NORMAL" | "FULL", private readonly opts: CheckpointerOptions = CHECKPOINTER_DEFAULTS) {
    if (path === ":memory:") return;
    try {
      const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "application/javascript" }));
      const worker = new Worker(url);
      this.url = url;
      worker.onmessage = ({ data }: MessageEvent) => this.onMessage(data);
      worker.onerror = () => this.fallBack();
      // A server stops by closing the store; nothing else should wait for this thread.
      (worker as unknown as { unref?: () => void }).unref?.();
      worker.postMessage({ kind: "open", path, synchronous, everyMs: opts.everyMs, catchUpFrames: opts.catchUpFrames });
      this.worker = worker;
    } catch {
      this.worker = null;
    }
  }

  /** True once checkpoints run in the worker (the serving connection's autocheckpoint is off). */
  get offloaded(): boolean {
    return this.active;
  }

  /** True while a catch-up checkpoint runs: posts wait for it (at most `catchUpMaxMs`). */
  get holding(): boolean {
    return this.holdTimer !== null;
  }

  private onMessage(data: { kind: string }): void {
    if (this.closed) return;
    URL.revokeObjectURL(this.url);
    if (data.kind === "ready") {
      this.db.run("PRAGMA wal_autocheckpoint = 0");
      this.db.run(`PRAGMA journal_size_limit = ${Math.floor(this.opts.walSizeLimit)}`);
      this.active = true;
    } else if (data.kind === "behind" && !this.holding) {
      this.holdTimer = setTimeout(() => this.resume(), this.opts.catchUpMaxMs);
      this.worker!.postMessage({ kind: "catch-up" });
    } else if (data.kind === "caught-up") {
      this.resume();
    } else if (data.kind === "error") {
      this.fallBack();
    }
  }

  private resume(): void {
    if (this.holdTimer === null) return;
    clearTimeout(this.holdTimer);
    this.holdTimer = null;
    this.onResume();
  }

  private fallBack(): void {
    if (this.closed) return;
    this.active = false;
    this.db.run("PRAGMA wal_autocheckpoint = 1000");
    this.worker?.terminate();
    this.worker = null;
    this.resume();
  }

  /** Closes the worker's connection, before the serving one closes (and checkpoints one last time). */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.resume();
      const worker = this.worker;
      this.worker = null;
      this.active = false;
      if (!worker) return;
      const { promise, resolve } = Promise.withResolvers<void>();
      const giveUp = setTimeout(resolve, 2000);
      worker.onmessage = ({ data }: MessageEvent) => {
        if (data.kind === "closed" || data.kind === "error") resolve();
      };
      worker.onerror = () => resolve();
      worker.postMessage({ kind: "close" });
      await promise;
      clearTimeout(giveUp);
      worker.terminate();
    })();
    return this.closed;
  }
}
