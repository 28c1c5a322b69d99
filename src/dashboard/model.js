/* argybargy dashboard: Derived views of the snapshot: the server clock, rooms, agents, questions and turns. */
import { S } from "./state.js";
import { FADING_S, LIFE_RANK, NAME_RE, arr, dedupe, elapsedSince, hueFor, num, own, roomStatus, str } from "./util.js";

export function sinceFetch() { return S.fetchedAt ? Math.max(0, (Date.now() - S.fetchedAt) / 1000) : 0; }
export function serverNow() { return Date.now() + S.skew; }
export function estimateSkew(snap, receivedAt) {
  const est = [];
  for (const r of arr(snap.rooms)) {
    const t = Date.parse(r && r.last_ts);
    if (Number.isFinite(t) && typeof r.seconds_since_last === "number") est.push(t + r.seconds_since_last * 1000 - receivedAt);
  }
  for (const w of arr(snap.waiting)) {
    const t = Date.parse(w && w.ts);
    if (Number.isFinite(t) && typeof w.waiting_seconds === "number") est.push(t + w.waiting_seconds * 1000 - receivedAt);
  }
  if (!est.length) return;
  est.sort((a, b) => a - b);
  const mid = est[Math.floor(est.length / 2)];
  S.skew = Math.abs(mid) < 1500 ? 0 : mid;
}

export const fmtHM = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
export const fmtFull = new Intl.DateTimeFormat(undefined, {
  weekday: "short", year: "numeric", month: "short", day: "numeric",
  hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
});
export const fmtDay = new Intl.DateTimeFormat(undefined, { weekday: "long", month: "long", day: "numeric" });
export const fmtDayYear = new Intl.DateTimeFormat(undefined, { weekday: "long", year: "numeric", month: "long", day: "numeric" });
export const fmtShort = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });

export function fmtAt(fmt, value, prefix) {
  const t = typeof value === "string" ? Date.parse(value) : NaN;
  return Number.isFinite(t) ? prefix + fmt.format(new Date(t)) : "";
}
export function dayKey(d) { return d.getFullYear() + "-" + d.getMonth() + "-" + d.getDate(); }
export function dayLabel(d) {
  const today = new Date();
  if (dayKey(d) === dayKey(today)) return "Today";
  const y = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  if (dayKey(d) === dayKey(y)) return "Yesterday";
  return (d.getFullYear() === today.getFullYear() ? fmtDay : fmtDayYear).format(d);
}

export function summaries() {
  const m = new Map();
  for (const r of arr(S.snap && S.snap.rooms)) if (r && typeof r.room === "string") m.set(r.room, r);
  return m;
}
export function allRooms() {
  const sn = S.snap;
  if (!sn) return S.view.room ? [S.view.room] : [];
  const sums = [...summaries().values()].filter((r) => num(r.last_seq) > 0 || num(r.messages) > 0);
  sums.sort((a, b) => num(a.seconds_since_last) - num(b.seconds_since_last) || (a.room < b.room ? -1 : 1));
  const withMsgs = new Set(sums.map((r) => r.room));
  const rest = new Set();
  const take = (n) => { if (typeof n === "string" && NAME_RE.test(n) && !withMsgs.has(n)) rest.add(n); };
  for (const o of [sn.peers, sn.room_status, sn.roster]) if (o && typeof o === "object") Object.keys(o).forEach(take);
  for (const c of arr(sn.codes)) take(c && c.room);
  for (const r of summaries().keys()) take(r);
  if (S.view.room) take(S.view.room);
  const ordered = [...sums.map((r) => r.room), ...[...rest].sort()];
  // Rooms the loop guard paused need the operator: they lead the list.
  const all = summaries();
  const paused = (r) => { const s = all.get(r); return !!s && s.paused === true; };
  return [...ordered.filter(paused), ...ordered.filter((r) => !paused(r))];
}
/** The agent-message run after which the loop guard paused `room`, or null when it is not paused. */
export function pausedRun(room, sums = summaries()) {
  const s = sums.get(room);
  if (!s || s.paused !== true) return null;
  return num(s.agent_run) || num(S.snap && S.snap.loop_guard);
}
export function unread(room, sums) {
  if (room === S.view.room) return false;
  const s = sums.get(room);
  return !!s && num(s.last_seq) > (S.seen.get(room) ?? 0);
}

export function joinKey(room, name) { return room + "\n" + name; }
export function agentModel(room) {
  const sn = S.snap;
  if (!sn || !room) return { listed: [], invited: [] };
  const extra = sinceFetch();
  const mk = (r) => {
    const seenBase = typeof r.seconds_since_seen === "number" ? r.seconds_since_seen : null;
    const postBase = typeof r.last_message_seconds === "number" ? r.last_message_seconds : null;
    const seen = seenBase == null ? null : seenBase + extra;
    const online = r.online === true;
    const t = S.joinedAt.get(joinKey(room, r.name));
    return {
      name: r.name, room, online,
      life: online ? "online" : seen != null && seen < FADING_S ? "fading" : "offline",
      secondsSinceSeen: seen, lastMessageSeconds: postBase == null ? null : postBase + extra,
      seenBase, postBase, capabilities: str(r.capabilities), sources: arr(r.sources),
      hue: hueFor(r.name), justJoined: !!t && Date.now() - t < 4000,
    };
  };
  const raw = [];
  for (const r of arr(own(sn.roster, room))) if (r && typeof r.name === "string") raw.push(mk(r));
  for (const p of arr(own(sn.peers, room))) {
    if (p && typeof p.name === "string" && !raw.some((x) => x.name === p.name)) raw.push(mk(p));
  }
  const listed = [], invited = [];
  for (const r of dedupe(raw)) (r.secondsSinceSeen == null && r.lastMessageSeconds == null ? invited : listed).push(r);
  const recency = (r) => Math.min(r.secondsSinceSeen ?? Infinity, r.lastMessageSeconds ?? Infinity);
  listed.sort((a, b) => (LIFE_RANK[a.life] - LIFE_RANK[b.life]) || (recency(a) - recency(b)) || (a.name < b.name ? -1 : 1));
  invited.sort((a, b) => (a.name < b.name ? -1 : 1));
  return { listed, invited };
}
export function findAgent(room, name) {
  const m = agentModel(room);
  return m.listed.find((r) => r.name === name) || m.invited.find((r) => r.name === name) || null;
}

/* When did someone answer question q? (ts ms, or null while it is still open.) */
export function answeredAt(q, msgs) {
  const want = q.expects_reply;
  if (!want || want === "none") return null;
  for (const m of msgs) {
    if (m.seq <= q.seq) continue;
    if (want === "anyone" ? m.from !== q.from : m.from === want) {
      const t = Date.parse(m.ts);
      return Number.isFinite(t) ? t : null;
    }
  }
  return null;
}
export function isWaiting(room, seq) {
  return arr(S.snap && S.snap.waiting).some((w) => w && w.room === room && w.seq === seq);
}
/* The timer of an open question ticks; an answered one stops at the answer (or at the close). */
export function questionClock(q, msgs, room) {
  const start = Date.parse(q.ts);
  const done = isWaiting(room, q.seq) ? null : answeredAt(q, msgs);
  let stop = done;
  if (stop == null) {
    const st = roomStatus(room);
    if (st.status === "closed") { const c = Date.parse(st.closed_at); if (Number.isFinite(c)) stop = c; }
  }
  return { start, done: done != null, text: () => elapsedSince(start, stop ?? serverNow()) };
}
export function latestTurn(msgs) {
  for (let i = msgs.length - 1; i >= 0; i--) if (msgs[i].expects_reply && msgs[i].expects_reply !== "none") return msgs[i];
  return null;
}
