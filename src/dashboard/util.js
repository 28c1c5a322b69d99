/* argybargy dashboard: Constants and pure helpers: names, hues and glyphs, durations, room and inbox derivations, local storage. */
import { serverNow, sinceFetch } from "./model.js";
import { S } from "./state.js";

export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const PAGE = 60;            // /admin/state returns at most 60 messages per page
export const LOUD_S = 300;         // an inbox row waiting this long reads as loud
export const WORKING_S = 120;      // posted within this many seconds = "working"
export const FADING_S = 8;         // offline but seen this recently = "fading"
export const FEED_WAIT = 25;       // /admin/changes long-poll, seconds (the server clamps it)
export const SAFETY_MS = 60000;    // re-fetch the state at least this often
export const RECHECK_MS = 30000;   // after a refused token, re-check no more often than this
export const STICK_PX = 32;        // scrolled up more than this = stop following new messages
export const LS = { token: "cc_admin", theme: "cc_theme", seen: "cc_seen", closed: "cc_showclosed" };
export const SVGNS = "http://www.w3.org/2000/svg";

export const $ = (id) => document.getElementById(id);
export const own = (o, k) => (o && typeof o === "object" && Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined);
export const arr = (v) => (Array.isArray(v) ? v : []);
export const str = (v) => (typeof v === "string" ? v : "");
export const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function lsGet(k) { try { return localStorage.getItem(k); } catch { return null; } }
export function lsSet(k, v) {
  try { if (v == null) localStorage.removeItem(k); else localStorage.setItem(k, v); } catch { /* storage may be disabled */ }
}

/** Stable hue 0..359 for a name (FNV-1a). */
export function hueFor(name) {
  let x = 2166136261;
  for (const ch of String(name)) { x ^= ch.codePointAt(0); x = Math.imul(x, 16777619); }
  return (x >>> 0) % 360;
}

export const BRANDS = [
  { id: "opencode", re: /opencode/i, accent: "#56606e" },
  { id: "cursor", re: /cursor/i, accent: "#26262b" },
  { id: "anthropic", re: /claude|anthropic/i, accent: "#d97757" },
  { id: "openai", re: /codex|gpt|openai|chatgpt/i, accent: "#10a37f" },
  { id: "qwen", re: /qwen/i, accent: "#615ced" },
  { id: "gemini", re: /gemini/i, accent: "#3b7bf0" },
];
export const PERSON_RE = /operator|human|(^|[^a-z])you([^a-z]|$)/i;

/** {kind:"brand", brand} for a vendor name, {kind:"person"} for people, else null (monogram). */
export function glyphFor(name) {
  const n = String(name || "");
  for (const b of BRANDS) if (b.re.test(n)) return { kind: "brand", brand: b.id };
  if (PERSON_RE.test(n)) return { kind: "person" };
  return null;
}
export function brandAccent(name) {
  const g = glyphFor(name);
  if (!g || g.kind !== "brand") return null;
  return BRANDS.find((b) => b.id === g.brand).accent;
}
export function monogram(name) {
  const chars = String(name || "").match(/[A-Za-z0-9]/g) || ["?"];
  return chars.slice(0, 2).join("").toUpperCase();
}

/** Compact age: now, 5s, 3m, 2h, 4d. */
export function lastSeen(seconds) {
  const s = Number(seconds);
  if (!Number.isFinite(s) || s < 1) return "now";
  if (s < 60) return Math.floor(s) + "s";
  if (s < 3600) return Math.floor(s / 60) + "m";
  if (s < 86400) return Math.floor(s / 3600) + "h";
  return Math.floor(s / 86400) + "d";
}
/** m:ss between two epoch-ms instants, never negative; minutes are not wrapped. */
export function elapsedSince(startMs, nowMs) {
  const now = nowMs === undefined ? serverNow() : nowMs;
  let s = Math.floor((now - startMs) / 1000);
  if (!Number.isFinite(s) || s < 0) s = 0;
  return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
}
export function fmtWait(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 3600) return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  const hrs = Math.floor(s / 3600);
  if (hrs < 48) return hrs + "h " + String(Math.floor((s % 3600) / 60)).padStart(2, "0") + "m";
  return Math.floor(hrs / 24) + "d";
}

export const LIFE_RANK = { online: 0, fading: 1, offline: 2 };
export function livelier(a, b) {
  const ra = LIFE_RANK[a.life] ?? 3, rb = LIFE_RANK[b.life] ?? 3;
  if (ra !== rb) return ra < rb;
  const sa = a.secondsSinceSeen ?? Infinity, sb = b.secondsSinceSeen ?? Infinity;
  return sa < sb;
}
/** One row per name; the liveliest sighting wins. */
export function dedupe(rows) {
  const by = new Map();
  for (const r of arr(rows)) {
    if (!r || typeof r.name !== "string") continue;
    const cur = by.get(r.name);
    if (!cur || livelier(r, cur)) by.set(r.name, r);
  }
  return [...by.values()];
}

export function roomStatus(room, snap) {
  const sn = snap || S.snap;
  const rs = own(sn && sn.room_status, room);
  if (rs && rs.status === "closed") {
    return { name: room, status: "closed", closed_at: rs.closed_at ?? null, closed_by: rs.closed_by ?? null };
  }
  if (!rs) {
    const sum = arr(sn && sn.rooms).find((r) => r && r.room === room);
    if (sum && sum.status === "closed") {
      return { name: room, status: "closed", closed_at: sum.closed_at ?? null, closed_by: sum.closed_by ?? null };
    }
  }
  return { name: room, status: "open", closed_at: null, closed_by: null };
}
export function isClosed(room, snap) { return roomStatus(room, snap).status === "closed"; }

/** Closed rooms fold away unless revealed; the room in view always stays. */
export function partitionRooms(rooms, closedFn, show, current) {
  const shown = [], hidden = [];
  for (const r of arr(rooms)) {
    if (show || r === current || !closedFn(r)) shown.push(r); else hidden.push(r);
  }
  return { shown, hidden };
}

/** The operator inbox as the page shows it, in server order (longest wait first). */
export function waitingRows(snap) {
  const sn = snap || S.snap;
  if (!sn) return [];
  const extra = sn === S.snap ? sinceFetch() : 0;
  return arr(sn.waiting).filter((w) => w && typeof w.room === "string").map((w) => {
    const seconds = Math.round((num(w.waiting_seconds) + extra) * 10) / 10;
    return {
      room: w.room, seq: w.seq, from: str(w.from), to: str(w.to), text: str(w.text), ts: w.ts,
      expects: str(w.expects_reply_resolved) || str(w.expects_reply), note: str(w.claim_note),
      claimed_by: str(w.claimed_by) || null, claim_expires_at: str(w.claim_expires_at) || null,
      base: num(w.waiting_seconds), seconds, loud: seconds >= LOUD_S,
    };
  });
}

/** §7.12: "waiting" | "working" | "standing by" | null. */
export function agentState(row, waiting, room) {
  if (!row) return null;
  const where = room ?? row.room;
  const inbox = waiting || (S.snap && S.snap.waiting) || [];
  if (arr(inbox).some((q) => q && q.from === row.name && (where == null || q.room === where))) return "waiting";
  const seen = row.secondsSinceSeen !== undefined ? row.secondsSinceSeen : row.seconds_since_seen;
  const posted = row.lastMessageSeconds !== undefined ? row.lastMessageSeconds : row.last_message_seconds;
  if ((seen == null && posted == null) || !row.online) return null;
  if (posted != null && posted < WORKING_S) return "working";
  return "standing by";
}
