/* argybargy dashboard: The operator API: the state snapshot, paging back, the /admin/changes feed, the lock screen, seen marks. */
import { toast } from "./drawer.js";
import { allRooms, estimateSkew, joinKey, summaries } from "./model.js";
import { render, selectRoom } from "./sidebar.js";
import { S, newTimeline } from "./state.js";
import { renderTimeline } from "./timeline.js";
import { $, FEED_WAIT, LS, NAME_RE, PAGE, RECHECK_MS, arr, isClosed, lsGet, lsSet, num, partitionRooms, sleep } from "./util.js";

/* ------------------------------------------------------------------ API */
export async function api(path, opts = {}) {
  const headers = { "X-Admin-Token": S.token };
  let body;
  if (opts.body !== undefined) { headers["Content-Type"] = "application/json"; body = JSON.stringify(opts.body); }
  const res = await fetch(path, {
    method: opts.method || (body !== undefined ? "POST" : "GET"),
    headers, body, cache: "no-store", credentials: "same-origin", signal: opts.signal,
  });
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  return { status: res.status, ok: res.ok, data };
}
export function errMsg(r) {
  const m = r && r.data && typeof r.data.message === "string" ? r.data.message : "";
  return m || (r ? "The bridge answered HTTP " + r.status + "." : "Could not reach the bridge.");
}
export const isAuthFail = (s) => s === 401 || s === 403 || s === 429;
export const tokenShapeOk = (t) => /^[\x21-\x7e]{1,512}$/.test(t);

/** One /admin/state read. Returns {kind: "ok"|"auth"|"net"|"http", status, message}. */
export async function fetchState() {
  const room = S.view.room;
  const path = room ? "/admin/state?room=" + encodeURIComponent(room) : "/admin/state";
  S.lastFetchAttempt = Date.now();
  if (!tokenShapeOk(S.token)) { lockOut(401); return { kind: "auth", status: 401 }; }
  let r;
  try { r = await api(path); } catch {
    setConn("error");
    return { kind: "net", status: 0, message: "could not reach the bridge" };
  }
  if (isAuthFail(r.status)) { lockOut(r.status); return { kind: "auth", status: r.status, message: errMsg(r) }; }
  if (!r.ok || !r.data || typeof r.data !== "object") {
    setConn("error");
    return { kind: "http", status: r.status, message: errMsg(r) };
  }
  applySnapshot(r.data, room);
  return { kind: "ok", status: r.status };
}

export let refreshing = null, refreshAgain = false;
export async function refresh() {
  if (!S.token || (S.locked && S.locked.refused)) return;
  if (refreshing) { refreshAgain = true; return refreshing; }
  refreshing = (async () => {
    do { refreshAgain = false; await fetchState(); } while (refreshAgain && !S.locked);
  })();
  try { await refreshing; } finally { refreshing = null; }
}

export function applySnapshot(snap, room) {
  const wasLocked = !!S.locked;
  S.snap = snap;
  S.fetchN++;
  S.fetchedAt = Date.now();
  S.locked = null;
  clearTimeout(S.recheckTimer);
  estimateSkew(snap, S.fetchedAt);
  trackJoins(snap, wasLocked);
  if (room && room === S.view.room && S.tl.room === room) {
    mergeLatest(arr(snap.messages).filter((m) => m && (m.room == null || m.room === room)));
  }
  setConn("live");
  if (!S.view.room) {
    const all = allRooms();
    const first = partitionRooms(all, (r) => isClosed(r), S.showClosed, null).shown[0] ?? all[0];
    if (first) { selectRoom(first); return; }
  }
  reconcileSeen();
  render();
}

export function trackJoins(snap, fresh) {
  const next = new Map();
  const roster = snap.roster && typeof snap.roster === "object" ? snap.roster : {};
  for (const room of Object.keys(roster)) {
    const online = new Set(arr(roster[room]).filter((r) => r && r.online === true).map((r) => r.name));
    const before = S.prevOnline.get(room);
    if (before && !fresh) for (const n of online) if (!before.has(n)) S.joinedAt.set(joinKey(room, n), Date.now());
    next.set(room, online);
  }
  S.prevOnline = next;
}

export function mergeLatest(page) {
  const tl = S.tl;
  page = page.filter((m) => typeof m.seq === "number").sort((a, b) => a.seq - b.seq);
  const first = !tl.loaded;
  tl.loaded = true;
  if (!page.length) {
    // Nothing retained any more (or never was): the view restarts empty.
    tl.msgs = [];
    tl.noMore = true;
    return;
  }
  const newest = tl.msgs.length ? tl.msgs[tl.msgs.length - 1].seq : 0;
  if (first || (page.length >= PAGE && page[0].seq > newest + 1)) {
    // A gap we cannot bridge from this page: start again from the newest page.
    tl.msgs = page;
    tl.noMore = page.length < PAGE || page[0].seq <= 1;
    return;
  }
  const by = new Map(tl.msgs.map((m) => [m.seq, m]));
  for (const m of page) by.set(m.seq, m);
  tl.msgs = [...by.values()].sort((a, b) => a.seq - b.seq);
}

export async function loadOlder() {
  const tl = S.tl;
  if (!tl.loaded || tl.noMore || tl.loadingOlder || !tl.msgs.length || S.locked || !S.token) return;
  if (Date.now() - tl.olderFailedAt < 5000) return;
  const before = tl.msgs[0].seq;
  if (before <= 1) { tl.noMore = true; renderTimeline("keep"); return; }
  tl.loadingOlder = true;
  renderTimeline("prepend");
  let r = null;
  try {
    r = await api("/admin/state?room=" + encodeURIComponent(tl.room) + "&before=" + before);
  } catch { r = null; }
  tl.loadingOlder = false;
  if (S.tl !== tl) return;
  if (r && isAuthFail(r.status)) { lockOut(r.status); return; }
  if (!r || !r.ok || !r.data) {
    tl.olderFailedAt = Date.now();
    if (!r) setConn("error"); else toast(errMsg(r), "error");
    renderTimeline("prepend");
    return;
  }
  const page = arr(r.data.messages).filter((m) => m && typeof m.seq === "number" && m.seq < before && (m.room == null || m.room === tl.room));
  const by = new Map(tl.msgs.map((m) => [m.seq, m]));
  for (const m of page) if (!by.has(m.seq)) by.set(m.seq, m);
  tl.msgs = [...by.values()].sort((a, b) => a.seq - b.seq);
  if (page.length < PAGE || tl.msgs[0].seq <= 1) tl.noMore = true;
  renderTimeline("prepend");
}

export function startFeed() {
  stopFeed();
  if (!S.token || S.locked) return;
  const gen = S.feedGen;
  S.feedCursor = null;
  feedLoop(gen);
}
export function stopFeed() {
  S.feedGen++;
  if (S.feedCtl) { try { S.feedCtl.abort(); } catch { /* already done */ } }
  S.feedCtl = null;
}
export async function feedLoop(gen) {
  let backoff = 1000;
  while (gen === S.feedGen) {
    const ctl = new AbortController();
    S.feedCtl = ctl;
    const guard = setTimeout(() => ctl.abort(), (FEED_WAIT + 20) * 1000);
    let r = null;
    try {
      r = await api("/admin/changes?since=" + (S.feedCursor ?? 0) + "&wait=" + FEED_WAIT, { signal: ctl.signal });
    } catch { r = null; }
    clearTimeout(guard);
    if (gen !== S.feedGen) return;
    if (!r) {
      S.feedBroken = true;
      setConn("error");
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 15000);
      continue;
    }
    if (isAuthFail(r.status)) { lockOut(r.status); return; }
    if (!r.ok || !r.data || typeof r.data.cursor !== "number") {
      // No usable change feed: fall back to plain polling of the snapshot.
      await refresh();
      await sleep(r.status === 404 || r.status === 405 ? 4000 : backoff);
      backoff = Math.min(backoff * 2, 15000);
      continue;
    }
    backoff = 1000;
    // The first poll (since=0) answers at once on a used server, so the snapshot taken
    // before it is refreshed once more and no change can fall between the two.
    const cursor = r.data.cursor;
    const restarted = S.feedCursor != null && cursor < S.feedCursor;
    S.feedCursor = cursor;
    if (r.data.changed || restarted || S.feedBroken) {
      S.feedBroken = false;
      await refresh();
    } else if (S.conn !== "live" && S.snap) setConn("live");
  }
}

export function lockOut(status) {
  const refused = status !== 0;
  S.locked = { status, refused };
  S.snap = null;
  S.tl = newTimeline(S.view.room);
  stopFeed();
  setConn(refused ? "error" : "idle");
  clearTimeout(S.recheckTimer);
  if (refused && S.token) S.recheckTimer = setTimeout(recheck, RECHECK_MS);
  render();
}
export async function recheck() {
  if (!S.locked || !S.locked.refused || !S.token) return;
  const res = await fetchState();
  if (res.kind === "ok") startFeed();
  else if (S.locked) { clearTimeout(S.recheckTimer); S.recheckTimer = setTimeout(recheck, RECHECK_MS); }
}

export function setConn(state) {
  S.conn = state;
  const dot = $("connDot");
  dot.className = "conn-dot " + state;
  const label = state === "live" ? "Live — connected to the bridge"
    : state === "error" ? (S.locked && S.locked.refused ? "Not signed in — the admin token was refused" : "Connection problem — retrying")
      : "Not connected";
  dot.setAttribute("aria-label", label);
  dot.setAttribute("title", label);
}

export function loadSeen() {
  try {
    const o = JSON.parse(lsGet(LS.seen) || "{}");
    if (o && typeof o === "object" && !Array.isArray(o)) {
      for (const [k, v] of Object.entries(o)) {
        if (NAME_RE.test(k) && typeof v === "number" && Number.isFinite(v) && v >= 0) S.seen.set(k, Math.floor(v));
      }
    }
  } catch { /* a corrupt value is ignored */ }
}
export function saveSeen() { lsSet(LS.seen, JSON.stringify(Object.fromEntries(S.seen))); }
export function reconcileSeen() {
  if (!S.snap) return;
  const sums = summaries();
  let dirty = false;
  for (const [room, mark] of S.seen) {
    const last = num(sums.get(room) && sums.get(room).last_seq);
    if (mark > last) { S.seen.set(room, 0); dirty = true; }
  }
  const room = S.view.room;
  if (room) {
    const last = num(sums.get(room) && sums.get(room).last_seq);
    if (S.seen.get(room) !== last) { S.seen.set(room, last); dirty = true; }
  }
  if (dirty) saveSeen();
}
