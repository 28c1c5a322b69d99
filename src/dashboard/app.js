/* argybargy operator dashboard (SPEC §9). Plain ES2022, no framework, no build step.
   Every value that comes from the server reaches the DOM through textContent or
   setAttribute, never as markup. */
(() => {
  "use strict";

  const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
  const PAGE = 60;            // /admin/state returns at most 60 messages per page
  const LOUD_S = 300;         // an inbox row waiting this long reads as loud
  const WORKING_S = 120;      // posted within this many seconds = "working"
  const FADING_S = 8;         // offline but seen this recently = "fading"
  const FEED_WAIT = 25;       // /admin/changes long-poll, seconds (the server clamps it)
  const SAFETY_MS = 60000;    // re-fetch the state at least this often
  const RECHECK_MS = 30000;   // after a refused token, re-check no more often than this
  const STICK_PX = 32;        // scrolled up more than this = stop following new messages
  const LS = { token: "cc_admin", theme: "cc_theme", seen: "cc_seen", closed: "cc_showclosed" };
  const SVGNS = "http://www.w3.org/2000/svg";

  const $ = (id) => document.getElementById(id);
  const own = (o, k) => (o && typeof o === "object" && Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined);
  const arr = (v) => (Array.isArray(v) ? v : []);
  const str = (v) => (typeof v === "string" ? v : "");
  const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  function lsGet(k) { try { return localStorage.getItem(k); } catch { return null; } }
  function lsSet(k, v) {
    try { if (v == null) localStorage.removeItem(k); else localStorage.setItem(k, v); } catch { /* storage may be disabled */ }
  }

  /* ------------------------------------------------------------------ state */
  const S = {
    token: "",
    locked: null,          // null | {status, refused}; status 0 = no token stored
    snap: null, fetchedAt: 0, skew: 0, lastFetchAttempt: 0,
    conn: "idle",
    view: { room: null, agent: null },
    tl: newTimeline(null),
    stuck: true,
    seen: new Map(),
    showClosed: false,
    theme: "auto",
    composer: { sender: "operator", to: "all", expects: null, sending: false },
    armed: { close: null, revoke: null, regen: null },
    invitedOpen: false, navOpen: false, drawerOpen: false, menuOpen: false,
    prevOnline: new Map(), joinedAt: new Map(),
    feedGen: 0, feedCursor: null, feedCtl: null, feedBroken: false,
    recheckTimer: 0, mintRoom: null, sig: {}, fetchN: 0,
  };
  const T = { inbox: [], rooms: [], agents: [], head: [], tl: [], drawer: [] };

  function newTimeline(room) {
    return { room, msgs: [], loaded: false, noMore: false, loadingOlder: false, olderFailedAt: 0 };
  }

  /* ---------------------------------------------------------- pure helpers */
  /** Stable hue 0..359 for a name (FNV-1a). */
  function hueFor(name) {
    let x = 2166136261;
    for (const ch of String(name)) { x ^= ch.codePointAt(0); x = Math.imul(x, 16777619); }
    return (x >>> 0) % 360;
  }

  const BRANDS = [
    { id: "opencode", re: /opencode/i, accent: "#56606e" },
    { id: "cursor", re: /cursor/i, accent: "#26262b" },
    { id: "anthropic", re: /claude|anthropic/i, accent: "#d97757" },
    { id: "openai", re: /codex|gpt|openai|chatgpt/i, accent: "#10a37f" },
    { id: "qwen", re: /qwen/i, accent: "#615ced" },
    { id: "gemini", re: /gemini/i, accent: "#3b7bf0" },
  ];
  const PERSON_RE = /operator|human|(^|[^a-z])you([^a-z]|$)/i;

  /** {kind:"brand", brand} for a vendor name, {kind:"person"} for people, else null (monogram). */
  function glyphFor(name) {
    const n = String(name || "");
    for (const b of BRANDS) if (b.re.test(n)) return { kind: "brand", brand: b.id };
    if (PERSON_RE.test(n)) return { kind: "person" };
    return null;
  }
  function brandAccent(name) {
    const g = glyphFor(name);
    if (!g || g.kind !== "brand") return null;
    return BRANDS.find((b) => b.id === g.brand).accent;
  }
  function monogram(name) {
    const chars = String(name || "").match(/[A-Za-z0-9]/g) || ["?"];
    return chars.slice(0, 2).join("").toUpperCase();
  }

  /** Compact age: now, 5s, 3m, 2h, 4d. */
  function lastSeen(seconds) {
    const s = Number(seconds);
    if (!Number.isFinite(s) || s < 1) return "now";
    if (s < 60) return Math.floor(s) + "s";
    if (s < 3600) return Math.floor(s / 60) + "m";
    if (s < 86400) return Math.floor(s / 3600) + "h";
    return Math.floor(s / 86400) + "d";
  }
  /** m:ss between two epoch-ms instants, never negative; minutes are not wrapped. */
  function elapsedSince(startMs, nowMs) {
    const now = nowMs === undefined ? serverNow() : nowMs;
    let s = Math.floor((now - startMs) / 1000);
    if (!Number.isFinite(s) || s < 0) s = 0;
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }
  function fmtWait(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    if (s < 3600) return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
    const hrs = Math.floor(s / 3600);
    if (hrs < 48) return hrs + "h " + String(Math.floor((s % 3600) / 60)).padStart(2, "0") + "m";
    return Math.floor(hrs / 24) + "d";
  }

  const LIFE_RANK = { online: 0, fading: 1, offline: 2 };
  function livelier(a, b) {
    const ra = LIFE_RANK[a.life] ?? 3, rb = LIFE_RANK[b.life] ?? 3;
    if (ra !== rb) return ra < rb;
    const sa = a.secondsSinceSeen ?? Infinity, sb = b.secondsSinceSeen ?? Infinity;
    return sa < sb;
  }
  /** One row per name; the liveliest sighting wins. */
  function dedupe(rows) {
    const by = new Map();
    for (const r of arr(rows)) {
      if (!r || typeof r.name !== "string") continue;
      const cur = by.get(r.name);
      if (!cur || livelier(r, cur)) by.set(r.name, r);
    }
    return [...by.values()];
  }

  function roomStatus(room, snap) {
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
  function isClosed(room, snap) { return roomStatus(room, snap).status === "closed"; }

  /** Closed rooms fold away unless revealed; the room in view always stays. */
  function partitionRooms(rooms, closedFn, show, current) {
    const shown = [], hidden = [];
    for (const r of arr(rooms)) {
      if (show || r === current || !closedFn(r)) shown.push(r); else hidden.push(r);
    }
    return { shown, hidden };
  }

  /** The operator inbox as the page shows it, in server order (longest wait first). */
  function waitingRows(snap) {
    const sn = snap || S.snap;
    if (!sn) return [];
    const extra = sn === S.snap ? sinceFetch() : 0;
    return arr(sn.waiting).filter((w) => w && typeof w.room === "string").map((w) => {
      const seconds = Math.round((num(w.waiting_seconds) + extra) * 10) / 10;
      return {
        room: w.room, seq: w.seq, from: str(w.from), to: str(w.to), text: str(w.text), ts: w.ts,
        expects: str(w.expects_reply_resolved) || str(w.expects_reply),
        base: num(w.waiting_seconds), seconds, loud: seconds >= LOUD_S,
      };
    });
  }

  /** §7.12: "waiting" | "working" | "standing by" | null. */
  function agentState(row, waiting, room) {
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

  /* ------------------------------------------------------------ time bases */
  function sinceFetch() { return S.fetchedAt ? Math.max(0, (Date.now() - S.fetchedAt) / 1000) : 0; }
  function serverNow() { return Date.now() + S.skew; }
  function estimateSkew(snap, receivedAt) {
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

  const fmtHM = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  const fmtFull = new Intl.DateTimeFormat(undefined, {
    weekday: "short", year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  });
  const fmtDay = new Intl.DateTimeFormat(undefined, { weekday: "long", month: "long", day: "numeric" });
  const fmtDayYear = new Intl.DateTimeFormat(undefined, { weekday: "long", year: "numeric", month: "long", day: "numeric" });
  const fmtShort = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });

  function fmtAt(fmt, value, prefix) {
    const t = typeof value === "string" ? Date.parse(value) : NaN;
    return Number.isFinite(t) ? prefix + fmt.format(new Date(t)) : "";
  }
  function dayKey(d) { return d.getFullYear() + "-" + d.getMonth() + "-" + d.getDate(); }
  function dayLabel(d) {
    const today = new Date();
    if (dayKey(d) === dayKey(today)) return "Today";
    const y = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
    if (dayKey(d) === dayKey(y)) return "Yesterday";
    return (d.getFullYear() === today.getFullYear() ? fmtDay : fmtDayYear).format(d);
  }

  /* ------------------------------------------------------------------- DOM */
  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    if (attrs && typeof attrs === "object" && !(attrs instanceof Node) && !Array.isArray(attrs)) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v == null || v === false) continue;
        if (k === "class") e.className = v;
        else if (k === "on") for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
        else e.setAttribute(k, v === true ? "" : String(v));
      }
    } else if (attrs != null) kids.unshift(attrs);
    add(e, kids);
    return e;
  }
  function add(parent, kids) {
    for (const k of kids) {
      if (k == null || k === false) continue;
      if (Array.isArray(k)) add(parent, k);
      else if (k instanceof Node) parent.append(k);
      else parent.append(document.createTextNode(String(k)));
    }
  }
  function srOnly(text) { return h("span", { class: "sr-only" }, text); }

  /* Icons: Phosphor-like 24px outline glyphs, drawn for this page. "F:" marks a filled sub-path. */
  const circ = (x, y, r) => `M${x - r} ${y}a${r} ${r} 0 1 0 ${2 * r} 0a${r} ${r} 0 1 0 ${-2 * r} 0`;
  const rrect = (x, y, w, hh, r) =>
    `M${x + r} ${y}h${w - 2 * r}a${r} ${r} 0 0 1 ${r} ${r}v${hh - 2 * r}a${r} ${r} 0 0 1 ${-r} ${r}` +
    `h${2 * r - w}a${r} ${r} 0 0 1 ${-r} ${-r}v${2 * r - hh}a${r} ${r} 0 0 1 ${r} ${-r}z`;
  function polar(r, deg) {
    const a = ((deg - 90) * Math.PI) / 180;
    return (12 + r * Math.cos(a)).toFixed(2) + " " + (12 + r * Math.sin(a)).toFixed(2);
  }
  function ring(n, r, rot) {
    let d = "";
    for (let i = 0; i < n; i++) d += (i ? "L" : "M") + polar(r, rot + (360 / n) * i);
    return d + "Z";
  }
  function gear() {
    let d = "";
    for (let i = 0; i < 8; i++) {
      const a = i * 45;
      for (const [r, o] of [[7.1, -15], [9.4, -8.5], [9.4, 8.5], [7.1, 15]]) d += (d ? "L" : "M") + polar(r, a + o);
    }
    return [d + "Z", circ(12, 12, 3)];
  }
  function rays(n, r1, r2, rot, alt) {
    const out = [];
    for (let i = 0; i < n; i++) {
      const a = rot + (360 / n) * i;
      out.push("M" + polar(r1, a) + "L" + polar(alt && i % 2 ? alt : r2, a));
    }
    return out.join("");
  }
  const ICONS = {
    logo: ["F:M5 4.5h10a2.5 2.5 0 0 1 2.5 2.5v5.5a2.5 2.5 0 0 1-2.5 2.5H9.5L6 17.5V15H5a2.5 2.5 0 0 1-2.5-2.5V7A2.5 2.5 0 0 1 5 4.5z",
      "M19.5 9.5a2 2 0 0 1 2 2v4.5a2 2 0 0 1-2 2v2.5L16 18h-3.5"],
    hash: "M10 3.5 8 20.5M16 3.5l-2 17M4.5 8.5h16M3.5 15.5h16",
    lock: [rrect(4.5, 10.5, 15, 10, 2), "M8 10.5V7.5a4 4 0 0 1 8 0v3", "F:" + circ(12, 15.5, 1.3)],
    unlock: [rrect(4.5, 10.5, 15, 10, 2), "M8 10.5V7.5a4 4 0 0 1 7.7-1.5", "F:" + circ(12, 15.5, 1.3)],
    caret: "M6 9.5l6 6 6-6",
    caretRight: "M9.5 6l6 6-6 6",
    gear: gear(),
    half: [circ(12, 12, 8.5), "F:M12 3.5a8.5 8.5 0 0 1 0 17z"],
    sun: [circ(12, 12, 4), rays(8, 6.8, 9.2, 0)],
    moon: "M20 14.4A8.5 8.5 0 1 1 9.6 4a7 7 0 0 0 10.4 10.4z",
    users: [circ(9, 8.5, 3.5), "M2.5 19.5c1.3-3 3.7-4.5 6.5-4.5s5.2 1.5 6.5 4.5", "M15.2 5.3a3.5 3.5 0 0 1 0 6.4", "M17.6 15.1c1.8.6 3.1 2 3.9 4.4"],
    plane: ["M20.6 3.4 3.5 10.2a.6.6 0 0 0 0 1.1l6.9 2.3 2.3 6.9a.6.6 0 0 0 1.1 0z", "M10.4 13.6l4.3-4.3"],
    person: [circ(12, 8, 4), "M4.5 20.5c1.5-3.6 4.3-5.5 7.5-5.5s6 1.9 7.5 5.5"],
    copy: [rrect(8.5, 8.5, 12, 12, 2), "M15.5 8.5v-3a2 2 0 0 0-2-2h-8a2 2 0 0 0-2 2v8a2 2 0 0 0 2 2h3"],
    broadcast: ["F:" + circ(12, 12, 1.8), "M8.3 15.7a5.2 5.2 0 0 1 0-7.4M15.7 8.3a5.2 5.2 0 0 1 0 7.4M5.5 18.5a9.2 9.2 0 0 1 0-13M18.5 5.5a9.2 9.2 0 0 1 0 13"],
    key: [circ(8, 16, 4.5), "M11.2 12.8 20 4M15.5 8.5l2.5 2.5M18 6l2 2"],
    refresh: ["M19.5 9A8 8 0 0 0 5.2 7.8M4.5 15a8 8 0 0 0 14.3 1.2", "M19.8 4v5h-5M4.2 20v-5h5"],
    arrowLeft: "M19.5 12h-15M10.5 6l-6 6 6 6",
    arrowDown: "M12 4.5v15M6 13.5l6 6 6-6",
    at: [circ(12, 12, 3.6), "M15.6 12v1.4a2.6 2.6 0 0 0 5.2 0V12a8.8 8.8 0 1 0-3.5 7"],
    check: "M4.5 12.5l5 5 10-11",
    menu: "M4 6.5h16M4 12h16M4 17.5h16",
    x: "M6 6l12 12M18 6 6 18",
    clock: [circ(12, 12, 8.5), "M12 7.5V12l3 2"],
    chat: [rrect(3.5, 4.5, 17, 12.5, 3), "M8 17v3.5l4-3.5"],
    globe: [circ(12, 12, 8.5), "M3.5 12h17M12 3.5c2.3 2.4 3.4 5.2 3.4 8.5s-1.1 6.1-3.4 8.5c-2.3-2.4-3.4-5.2-3.4-8.5s1.1-6.1 3.4-8.5z"],
    warn: ["M10.3 4.6 2.9 17.5A2 2 0 0 0 4.6 20.5h14.8a2 2 0 0 0 1.7-3L13.7 4.6a2 2 0 0 0-3.4 0z", "M12 9.5v4", "F:" + circ(12, 16.8, 1.1)],
    /* Vendor marks: simple original stylisations, not the vendors' artwork. */
    anthropic: rays(8, 1.6, 8.6, 22.5, 6.4),
    openai: [0, 60, 120].map((deg) => ({ d: rrect(9.4, 4, 5.2, 16, 2.6), t: `rotate(${deg} 12 12)` })),
    qwen: [ring(6, 7.6, 30), "M15 15l4.8 4.8", "F:" + circ(12, 12, 2.1)],
    gemini: "F:M12 2.5C12.7 7.6 16.4 11.3 21.5 12 16.4 12.7 12.7 16.4 12 21.5 11.3 16.4 7.6 12.7 2.5 12 7.6 11.3 11.3 7.6 12 2.5z",
    cursor: "F:M6.2 3.2 18.6 11.4a.6.6 0 0 1-.2 1.1l-5.2 1.3 3.1 5.4-2.7 1.5-3.1-5.4-3.8 3.6a.6.6 0 0 1-1-.4L5.3 3.7a.6.6 0 0 1 .9-.5z",
    opencode: ["M8.5 7 3.8 12l4.7 5M15.5 7l4.7 5-4.7 5", "M13.6 5.2l-3.2 13.6"],
  };
  function icon(name, cls) {
    const svg = document.createElementNS(SVGNS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "ic" + (cls ? " " + cls : ""));
    for (const part of [].concat(ICONS[name] || [])) {
      const o = typeof part === "string" ? { d: part } : part;
      const p = document.createElementNS(SVGNS, "path");
      let d = o.d;
      if (d.startsWith("F:")) { d = d.slice(2); p.setAttribute("class", "f"); }
      p.setAttribute("d", d);
      if (o.t) p.setAttribute("transform", o.t);
      svg.append(p);
    }
    return svg;
  }

  function avatar(name, size, life) {
    const g = glyphFor(name);
    const a = h("span", { class: "sb-av" + (size ? " sb-av--" + size : ""), "aria-hidden": "true" });
    a.style.setProperty("--h", String(hueFor(name)));
    if (g && g.kind === "brand") {
      a.classList.add("sb-av--brand");
      a.style.setProperty("--brand", brandAccent(name));
      a.append(icon(g.brand, "agent-logo"));
    } else if (g && g.kind === "person") {
      a.classList.add("sb-av--person");
      a.append(icon("person", "agent-person"));
    } else {
      a.append(document.createTextNode(monogram(name)));
    }
    if (life) a.append(h("span", { class: "av-dot", "data-life": life }));
    return a;
  }
  function timeEl(ts, cls) {
    const d = new Date(ts);
    const ok = !Number.isNaN(d.getTime());
    return h("time", { class: cls, datetime: ok ? d.toISOString() : null, title: ok ? fmtFull.format(d) : null },
      ok ? fmtHM.format(d) : "--:--");
  }

  /* Re-render a container, keeping keyboard focus on the element with the same data-key. */
  function rebuild(container, build) {
    const active = document.activeElement;
    const key = active && container.contains(active) ? active.getAttribute("data-key") : null;
    container.replaceChildren();
    build(container);
    if (key) {
      const again = [...container.querySelectorAll("[data-key]")].find((e) => e.getAttribute("data-key") === key);
      if (again) again.focus({ preventScroll: true });
    }
  }
  function changed(name, sig) {
    if (S.sig[name] === sig) return false;
    S.sig[name] = sig;
    return true;
  }

  /* -------------------------------------------------------------- models */
  function summaries() {
    const m = new Map();
    for (const r of arr(S.snap && S.snap.rooms)) if (r && typeof r.room === "string") m.set(r.room, r);
    return m;
  }
  function allRooms() {
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
    return [...sums.map((r) => r.room), ...[...rest].sort()];
  }
  function unread(room, sums) {
    if (room === S.view.room) return false;
    const s = sums.get(room);
    return !!s && num(s.last_seq) > (S.seen.get(room) ?? 0);
  }

  function joinKey(room, name) { return room + "\n" + name; }
  function agentModel(room) {
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
  function findAgent(room, name) {
    const m = agentModel(room);
    return m.listed.find((r) => r.name === name) || m.invited.find((r) => r.name === name) || null;
  }

  /* When did someone answer question q? (ts ms, or null while it is still open.) */
  function answeredAt(q, msgs) {
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
  function isWaiting(room, seq) {
    return arr(S.snap && S.snap.waiting).some((w) => w && w.room === room && w.seq === seq);
  }
  /* The timer of an open question ticks; an answered one stops at the answer (or at the close). */
  function questionClock(q, msgs, room) {
    const start = Date.parse(q.ts);
    const done = isWaiting(room, q.seq) ? null : answeredAt(q, msgs);
    let stop = done;
    if (stop == null) {
      const st = roomStatus(room);
      if (st.status === "closed") { const c = Date.parse(st.closed_at); if (Number.isFinite(c)) stop = c; }
    }
    return { start, done: done != null, text: () => elapsedSince(start, stop ?? serverNow()) };
  }
  function latestTurn(msgs) {
    for (let i = msgs.length - 1; i >= 0; i--) if (msgs[i].expects_reply && msgs[i].expects_reply !== "none") return msgs[i];
    return null;
  }

  /* ------------------------------------------------------------------ API */
  async function api(path, opts = {}) {
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
  function errMsg(r) {
    const m = r && r.data && typeof r.data.message === "string" ? r.data.message : "";
    return m || (r ? "The bridge answered HTTP " + r.status + "." : "Could not reach the bridge.");
  }
  const isAuthFail = (s) => s === 401 || s === 403 || s === 429;
  const tokenShapeOk = (t) => /^[\x21-\x7e]{1,512}$/.test(t);

  /** One /admin/state read. Returns {kind: "ok"|"auth"|"net"|"http", status, message}. */
  async function fetchState() {
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

  let refreshing = null, refreshAgain = false;
  async function refresh() {
    if (!S.token || (S.locked && S.locked.refused)) return;
    if (refreshing) { refreshAgain = true; return refreshing; }
    refreshing = (async () => {
      do { refreshAgain = false; await fetchState(); } while (refreshAgain && !S.locked);
    })();
    try { await refreshing; } finally { refreshing = null; }
  }

  function applySnapshot(snap, room) {
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

  function trackJoins(snap, fresh) {
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

  function mergeLatest(page) {
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

  async function loadOlder() {
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

  /* ----------------------------------------------------- live updates */
  function startFeed() {
    stopFeed();
    if (!S.token || S.locked) return;
    const gen = S.feedGen;
    S.feedCursor = null;
    feedLoop(gen);
  }
  function stopFeed() {
    S.feedGen++;
    if (S.feedCtl) { try { S.feedCtl.abort(); } catch { /* already done */ } }
    S.feedCtl = null;
  }
  async function feedLoop(gen) {
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

  function lockOut(status) {
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
  async function recheck() {
    if (!S.locked || !S.locked.refused || !S.token) return;
    const res = await fetchState();
    if (res.kind === "ok") startFeed();
    else if (S.locked) { clearTimeout(S.recheckTimer); S.recheckTimer = setTimeout(recheck, RECHECK_MS); }
  }

  function setConn(state) {
    S.conn = state;
    const dot = $("connDot");
    dot.className = "conn-dot " + state;
    const label = state === "live" ? "Live — connected to the bridge"
      : state === "error" ? (S.locked && S.locked.refused ? "Not signed in — the admin token was refused" : "Connection problem — retrying")
        : "Not connected";
    dot.setAttribute("aria-label", label);
    dot.setAttribute("title", label);
  }

  /* ------------------------------------------------------- seen marks */
  function loadSeen() {
    try {
      const o = JSON.parse(lsGet(LS.seen) || "{}");
      if (o && typeof o === "object" && !Array.isArray(o)) {
        for (const [k, v] of Object.entries(o)) {
          if (NAME_RE.test(k) && typeof v === "number" && Number.isFinite(v) && v >= 0) S.seen.set(k, Math.floor(v));
        }
      }
    } catch { /* a corrupt value is ignored */ }
  }
  function saveSeen() { lsSet(LS.seen, JSON.stringify(Object.fromEntries(S.seen))); }
  function reconcileSeen() {
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

  /* ----------------------------------------------------------- navigation */
  function selectRoom(room, opts = {}) {
    const agent = opts.agent || null;
    const roomChanged = room !== S.view.room;
    const agentChanged = agent !== S.view.agent;
    S.view.room = room;
    S.view.agent = agent;
    if (roomChanged) {
      S.tl = newTimeline(room);
      S.composer.to = "all";
      S.composer.expects = null;
      S.armed.close = null;
      try {
        const u = new URL(location.href);
        u.searchParams.set("room", room);
        history.replaceState(null, "", u.pathname + u.search + u.hash);
      } catch { /* history may be unavailable */ }
    }
    if (roomChanged || agentChanged) {
      S.stuck = true;
      S.composer.expects = null;
      closeMenu();
    }
    closeNav();
    reconcileSeen();
    render();
    if (roomChanged) refresh();
    if (opts.focus) { const inp = $("composerInput"); if (!inp.disabled) inp.focus(); }
  }

  /* ------------------------------------------------------------- render */
  function render() {
    renderSidebar();
    renderHeader();
    renderTimeline();
    renderComposer();
    if (S.drawerOpen) renderDrawer();
  }

  function renderSidebar() {
    const locked = !!S.locked || !S.snap;
    renderInbox(locked);
    renderRooms(locked);
    renderAgents(locked);
  }

  function renderInbox(locked) {
    const box = $("sbInbox");
    const rows = locked ? [] : waitingRows();
    // Timers count from the snapshot they were built from, so every new snapshot rebuilds.
    if (!changed("inbox", JSON.stringify([S.fetchN, rows.map((r) => [r.room, r.seq, r.from, r.text, r.expects])]))) { runTimers(T.inbox); return; }
    T.inbox = [];
    rebuild(box, () => {
      if (!rows.length) { box.hidden = true; return; }
      box.hidden = false;
      const count = h("span", { class: "sb-count", "data-testid": "waiting-count" }, "· " + rows.length);
      const label = h("div", { class: "sb-label sb-label--inbox", "data-testid": "waiting-label" },
        icon("clock"), h("span", null, "Waiting on you"), count);
      T.inbox.push(() => {
        const loud = waitingRows().filter((r) => r.loud).length;
        label.title = loud === 1 ? "1 question has waited more than 5 min" : loud + " questions have waited more than 5 min";
      });
      const list = h("div", { class: "wait-list", "data-testid": "waiting-list" });
      for (const w of rows) {
        const timer = h("span", { class: "wait-row__timer", "data-testid": "waiting-timer" });
        const row = h("button", {
          type: "button", class: "wait-row", "data-testid": "waiting-row", "data-goto-room": w.room,
          "data-loud": w.loud ? "true" : "false", "data-key": "w:" + w.room + ":" + w.seq,
          title: w.from + " asked in #" + w.room + (w.expects && w.expects !== "anyone" ? " (expects " + w.expects + ")" : ""),
          on: { click: () => selectRoom(w.room, { focus: true }) },
        },
        avatar(w.from, "sm"),
        h("span", { class: "wait-row__body" },
          h("span", { class: "wait-row__top" },
            h("span", { class: "wait-row__name" }, w.from),
            h("span", { class: "wait-row__room" }, "#" + w.room),
            timer),
          h("span", { class: "wait-row__text", "data-testid": "waiting-text" }, w.text)));
        T.inbox.push(() => {
          const s = w.base + sinceFetch();
          timer.textContent = fmtWait(s);
          row.setAttribute("data-loud", s >= LOUD_S ? "true" : "false");
        });
        list.append(row);
      }
      box.append(label, list);
    });
    runTimers(T.inbox);
  }

  function renderRooms(locked) {
    const list = $("roomList"), foot = $("roomFoot"), count = $("roomsCount");
    if (locked) {
      if (!changed("rooms", "locked:" + !!S.token)) return;
      T.rooms = [];
      count.textContent = "";
      foot.replaceChildren();
      list.replaceChildren(h("p", { class: "sb-note" }, icon("lock"),
        h("span", null, "Rooms stay hidden until the admin token is set.")));
      return;
    }
    const all = allRooms();
    const sums = summaries();
    const closedFn = (r) => isClosed(r);
    const part = partitionRooms(all, closedFn, S.showClosed, S.view.room);
    const closedOthers = all.filter((r) => r !== S.view.room && closedFn(r)).length;
    const model = part.shown.map((room) => {
      const st = roomStatus(room);
      const s = sums.get(room);
      return { room, closed: st.status === "closed", by: st.closed_by, at: st.closed_at,
        n: s ? num(s.messages) : 0, has: !!s && num(s.last_seq) > 0, unread: unread(room, sums), active: room === S.view.room };
    });
    const sig = JSON.stringify([S.fetchN, model, S.showClosed, closedOthers, part.hidden.length]);
    if (!changed("rooms", sig)) { runTimers(T.rooms); return; }
    T.rooms = [];
    count.textContent = all.length ? "· " + all.length : "";
    rebuild(list, () => {
      if (!model.length) {
        list.append(h("p", { class: "sb-note" }, "No rooms yet. Mint a key in Admin to invite the first agent."));
      }
      for (const r of model) {
        const meta = h("span", { class: "sb-room__meta", "data-testid": "room-meta" });
        const title = r.closed
          ? "#" + r.room + " — closed" + (r.by ? " by " + r.by : "") + fmtAt(fmtShort, r.at, " · ")
          : "#" + r.room;
        const btn = h("button", {
          type: "button", class: "sb-room" + (r.closed ? " closed" : "") + (r.active ? " active" : ""),
          "data-room": r.room, "data-status": r.closed ? "closed" : "open", "data-key": "r:" + r.room,
          "aria-current": r.active ? "true" : null, title,
          on: { click: () => selectRoom(r.room) },
        },
        icon(r.closed ? "lock" : "hash", "sb-room__icon"),
        h("span", { class: "sb-room__name" }, r.room),
        r.unread ? h("span", { class: "unread-dot", "data-unread": "true" }, srOnly("unread messages")) : null,
        meta);
        if (r.closed) meta.textContent = "closed";
        else if (r.has) {
          const s = sums.get(r.room);
          T.rooms.push(() => { meta.textContent = r.n + " · " + lastSeen(num(s.seconds_since_last) + sinceFetch()); });
        } else meta.textContent = "quiet";
        list.append(btn);
      }
    });
    rebuild(foot, () => {
      if (!closedOthers) return;
      const hiddenN = part.hidden.length;
      foot.append(h("button", {
        type: "button", class: "sb-fold", "data-testid": "closed-toggle", "data-key": "closed-toggle",
        "data-hidden": String(hiddenN), "aria-expanded": S.showClosed ? "true" : "false",
        title: S.showClosed ? closedOthers + " closed room" + (closedOthers === 1 ? "" : "s") + " shown — click to hide"
          : hiddenN + " closed room" + (hiddenN === 1 ? "" : "s") + " hidden — click to show",
        on: { click: () => { S.showClosed = !S.showClosed; lsSet(LS.closed, S.showClosed ? "1" : "0"); renderSidebar(); } },
      }, icon(S.showClosed ? "caret" : "caretRight"), S.showClosed ? "Hide closed · " + closedOthers : "Closed · " + hiddenN));
    });
    runTimers(T.rooms);
  }

  function stampFor(r) {
    if (r.online) return { text: () => "online", kind: "online" };
    if (r.seenBase != null) return { text: () => lastSeen(r.seenBase + sinceFetch()) + " ago", kind: "seen" };
    if (r.postBase != null) return { text: () => lastSeen(r.postBase + sinceFetch()) + " ago", kind: "posted" };
    return { text: () => "invited", kind: "invited" };
  }

  function agentRow(r, room, waiting) {
    const state = agentState(r, waiting, room);
    const stamp = stampFor(r);
    const stampEl = h("span", { class: "sb-agent__stamp" });
    T.agents.push(() => { stampEl.textContent = stamp.text(); });
    const active = S.view.agent === r.name;
    return h("button", {
      type: "button", class: "sb-agent" + (r.justJoined ? " is-joined" : "") + (active ? " active" : ""),
      "data-agent": r.name, "data-life": r.life, "data-state": state || "none", "data-key": "a:" + r.name,
      "aria-current": active ? "true" : null,
      title: (active ? "Back to #" + room : "Messages from or to " + r.name),
      on: { click: () => selectRoom(room, { agent: active ? null : r.name }) },
    },
    avatar(r.name, null, stamp.kind === "invited" ? null : r.life),
    h("span", { class: "sb-agent__body" },
      h("span", { class: "sb-agent__top" },
        h("span", { class: "sb-agent__name" }, r.name),
        state ? h("span", { class: "state-pill", "data-state": state }, state) : null,
        stampEl),
      r.capabilities ? h("span", { class: "sb-agent__caps", "data-testid": "agent-caps", title: r.capabilities }, r.capabilities) : null));
  }

  function renderAgents(locked) {
    const section = $("agentsSection"), list = $("agentList"), fold = $("invitedFold"), count = $("agentsCount");
    const room = S.view.room;
    if (locked || !room) {
      if (changed("agents", "none")) { T.agents = []; section.hidden = true; list.replaceChildren(); fold.replaceChildren(); }
      return;
    }
    section.hidden = false;
    const { listed, invited } = agentModel(room);
    const waiting = arr(S.snap.waiting);
    const sig = JSON.stringify([S.fetchN, room, S.view.agent, S.invitedOpen,
      listed.map((r) => [r.name, r.life, agentState(r, waiting, room), r.capabilities, stampFor(r).kind, r.justJoined]),
      invited.map((r) => [r.name, r.capabilities])]);
    if (!changed("agents", sig)) { runTimers(T.agents); return; }
    T.agents = [];
    const online = listed.filter((r) => r.online).length;
    count.textContent = "· " + online + "/" + listed.length;
    count.title = online + " online of " + listed.length;
    rebuild(list, () => {
      if (!listed.length) list.append(h("p", { class: "sb-note" }, invited.length ? "No one has checked in yet." : "No agents in #" + room + " yet."));
      for (const r of listed) list.append(agentRow(r, room, waiting));
    });
    rebuild(fold, () => {
      if (!invited.length) return;
      fold.append(h("button", {
        type: "button", class: "sb-fold", "aria-expanded": S.invitedOpen ? "true" : "false", "data-key": "invited-toggle",
        title: "Key holders who have not called in or posted yet",
        on: { click: () => { S.invitedOpen = !S.invitedOpen; renderSidebar(); } },
      }, icon(S.invitedOpen ? "caret" : "caretRight"), "Invited · " + invited.length));
      if (S.invitedOpen) {
        const inner = h("div", { class: "sb-invited" });
        for (const r of invited) inner.append(agentRow(r, room, waiting));
        fold.append(inner);
      }
    });
    runTimers(T.agents);
  }

  function renderHeader() {
    const body = $("headBody");
    const room = S.view.room, agent = S.view.agent;
    let sig;
    if (S.locked || (!S.snap && S.token === "")) sig = "locked";
    else if (!S.snap) sig = "loading:" + room;
    else if (!room) sig = "none";
    else {
      const st = roomStatus(room);
      const turn = latestTurn(S.tl.msgs);
      const m = agentModel(room);
      const sum = summaries().get(room);
      const a = agent ? findAgent(room, agent) : null;
      sig = JSON.stringify([S.fetchN, room, agent, st, turn && [turn.seq, turn.claimed_by, turn.expects_reply_resolved, questionClock(turn, S.tl.msgs, room).done],
        m.listed.filter((r) => r.online).length, sum && [sum.messages, sum.last_seq], S.armed.close && S.armed.close.room,
        a && [a.online, stampFor(a).kind]]);
    }
    if (!changed("head", sig)) { runTimers(T.head); return; }
    T.head = [];
    rebuild(body, () => {
      if (sig === "locked") {
        body.append(h("span", { class: "conv-header__icon is-warn" }, icon("key")),
          h("h1", { class: "conv-header__title", "data-testid": "channel-title" }, "not signed in"));
        return;
      }
      if (sig.startsWith("loading:")) {
        body.append(h("span", { class: "conv-header__icon" }, icon("hash")),
          h("h1", { class: "conv-header__title", "data-testid": "channel-title" }, room || "argybargy"));
        return;
      }
      if (sig === "none") {
        body.append(h("span", { class: "conv-header__icon" }, icon("chat")),
          h("h1", { class: "conv-header__title", "data-testid": "channel-title" }, "No room selected"));
        return;
      }
      if (agent) { headerDirect(body, room, agent); return; }
      headerRoom(body, room);
    });
    runTimers(T.head);
  }

  function headerDirect(body, room, agent) {
    const a = findAgent(room, agent);
    const sub = h("span", { class: "conv-header__sub" });
    if (!a) sub.textContent = "invited · not seen yet";
    else if (a.online) T.head.push(() => { sub.textContent = "online · " + lastSeen((a.seenBase ?? 0) + sinceFetch()); });
    else if (a.seenBase != null) T.head.push(() => { sub.textContent = "offline · " + lastSeen(a.seenBase + sinceFetch()) + " ago"; });
    else if (a.postBase != null) T.head.push(() => { sub.textContent = "offline · posted " + lastSeen(a.postBase + sinceFetch()) + " ago"; });
    else sub.textContent = "invited · not seen yet";
    body.append(
      h("button", { type: "button", class: "icon-btn", id: "backToRoom", "aria-label": "Back to #" + room, title: "Back to #" + room,
        on: { click: () => selectRoom(room, { agent: null }) } }, icon("arrowLeft")),
      avatar(agent, "md", a && a.seenBase != null ? a.life : null),
      h("div", { class: "conv-header__titles" },
        h("h1", { class: "conv-header__title", "data-testid": "channel-title" }, agent),
        sub),
      h("span", { class: "conv-header__spacer" }),
      h("span", { class: "chip conv-header__filterchip", title: "Only messages from or to " + agent + " in #" + room }, "filtered · #" + room));
  }

  function headerRoom(body, room) {
    const st = roomStatus(room);
    const closed = st.status === "closed";
    const sum = summaries().get(room);
    const present = agentModel(room).listed.filter((r) => r.online).length;
    const titles = h("div", { class: "conv-header__titles" });
    const top = h("div", { class: "conv-header__row" },
      h("h1", { class: "conv-header__title", "data-testid": "channel-title" }, room),
      h("span", { class: "status-pill", "data-testid": "room-status", "data-status": st.status,
        title: closed ? "Closed" + (st.closed_by ? " by " + st.closed_by : "") + fmtAt(fmtFull, st.closed_at, " · ") : "Open: agents may post" },
      st.status));
    const meta = h("div", { class: "conv-header__meta" });
    meta.append(h("span", { class: "meta-item", title: present + " agent" + (present === 1 ? "" : "s") + " online" }, icon("users"), present + " present"));
    if (sum && num(sum.last_seq) > 0) {
      const m = h("span", { class: "meta-item" });
      T.head.push(() => { m.textContent = num(sum.messages) + " msg · " + lastSeen(num(sum.seconds_since_last) + sinceFetch()) + " ago"; });
      meta.append(m);
    } else meta.append(h("span", { class: "meta-item" }, "no messages yet"));
    const turn = latestTurn(S.tl.msgs);
    if (turn) {
      if (turn.claimed_by) {
        meta.append(h("span", { class: "chip chip--turn", "data-turn": "claimed", title: "Latest question (#" + turn.seq + ") was claimed" },
          icon("check"), "claimed · " + turn.claimed_by));
      } else {
        const clock = questionClock(turn, S.tl.msgs, room);
        const t = h("span", { class: "chip__timer" });
        T.head.push(() => { t.textContent = clock.text(); });
        meta.append(h("span", { class: "chip chip--turn" + (clock.done ? " is-done" : ""), "data-turn": "expects",
          title: clock.done ? "Latest question (#" + turn.seq + ") was answered" : "Latest question (#" + turn.seq + ") is open" },
        clock.done ? icon("check") : icon("at"), "expects · " + (turn.expects_reply_resolved || turn.expects_reply) + " ", t));
      }
    }
    titles.append(top, meta);
    const armed = S.armed.close && S.armed.close.room === room && Date.now() < S.armed.close.until;
    const btn = h("button", {
      type: "button", class: "btn " + (closed ? "btn--ghost" : armed ? "btn--danger-solid" : "btn--danger"),
      "data-testid": "room-close-btn", "data-action": closed ? "reopen" : "close",
      title: closed ? "Reopen #" + room + " so agents may post again" : armed ? "Click again to close #" + room + " and dismiss its agents" : "Close #" + room + ": every agent is told to leave",
      on: { click: () => lifecycle(closed ? "reopen" : "close") },
    }, icon(closed ? "unlock" : "lock"), closed ? "Reopen room" : armed ? "Confirm close" : "Close room");
    body.append(h("span", { class: "conv-header__icon" + (closed ? " is-closed" : "") }, icon(closed ? "lock" : "hash")), titles,
      h("span", { class: "conv-header__spacer" }), btn);
  }

  async function lifecycle(action) {
    const room = S.view.room;
    if (!room) return;
    if (action === "close") {
      const armed = S.armed.close && S.armed.close.room === room && Date.now() < S.armed.close.until;
      if (!armed) {
        S.armed.close = { room, until: Date.now() + 3000 };
        renderHeader();
        setTimeout(() => { if (S.armed.close && Date.now() >= S.armed.close.until) { S.armed.close = null; renderHeader(); } }, 3050);
        return;
      }
      S.armed.close = null;
    }
    const r = await api("/admin/rooms/" + encodeURIComponent(room) + "/" + action, { method: "POST", body: { by: "operator" } }).catch(() => null);
    if (!r) { toast("Could not reach the bridge.", "error"); renderHeader(); return; }
    if (isAuthFail(r.status)) { lockOut(r.status); return; }
    if (!r.ok) { toast(errMsg(r), "error"); renderHeader(); return; }
    if (S.snap && r.data && r.data.room && typeof r.data.room === "object") {
      const rs = S.snap.room_status && typeof S.snap.room_status === "object" ? S.snap.room_status : (S.snap.room_status = {});
      rs[room] = r.data.room;
    }
    toast(action === "close" ? "#" + room + " closed — its agents have been told to leave." : "#" + room + " is open again.", "ok");
    render();
    refresh();
  }

  /* ------------------------------------------------------------ timeline */
  function visibleMsgs() {
    const a = S.view.agent;
    return a ? S.tl.msgs.filter((m) => m.from === a || m.to === a) : S.tl.msgs;
  }

  function renderTimeline(anchor) {
    const box = $("timeline"), wrap = $("timelineWrap");
    const room = S.view.room, tl = S.tl;
    let mode;
    if (S.locked || (!S.snap && !S.token)) mode = "locked";
    else if (!S.snap) mode = "loading";
    else if (!room) mode = "norooms";
    else if (!tl.loaded) mode = "loading";
    else mode = "msgs";
    const msgs = mode === "msgs" ? visibleMsgs() : [];
    const sig = JSON.stringify([mode, room, S.view.agent, tl.noMore, tl.loadingOlder, mode === "locked" && S.locked && S.locked.status,
      msgs.map((m) => [m.seq, m.claimed_by, m.expects_reply_resolved]),
      msgs.length ? isClosed(room) : 0, arr(S.snap && S.snap.waiting).filter((w) => w.room === room).map((w) => w.seq)]);
    if (!changed("tl", sig)) { runTimers(T.tl); return; }
    T.tl = [];
    const fromBottom = wrap.scrollHeight - wrap.scrollTop;
    const top = wrap.scrollTop;
    box.replaceChildren();
    box.setAttribute("data-mode", mode);
    if (mode === "locked") box.append(lockedPanel());
    else if (mode === "loading") box.append(h("div", { class: "conv-loading" }, h("span", { class: "spinner" }), room ? "Loading #" + room + "…" : "Loading…"));
    else if (mode === "norooms") {
      box.append(h("div", { class: "conv-empty conv-empty--hero" }, h("span", { class: "empty-icon" }, icon("chat")),
        h("h2", null, "No rooms yet"),
        h("p", null, "Rooms appear when an agent is invited or speaks. Mint a key to bring in the first one."),
        h("button", { type: "button", class: "btn btn--primary", on: { click: () => openDrawer("adName") } }, icon("key"), "Mint a key")));
    } else if (!msgs.length && tl.noMore) {
      box.append(h("div", { class: "conv-empty" }, h("span", { class: "empty-icon" }, icon(S.view.agent ? "at" : "hash")),
        h("h2", null, S.view.agent ? "Nothing from or to @" + S.view.agent + " yet" : "Nothing in #" + room + " yet"),
        h("p", null, S.view.agent ? "Messages they send or receive in #" + room + " will show up here." : "Messages show up here as they arrive. Say something below, or invite an agent from Admin.")));
    } else box.append(buildMessages(msgs, room));
    if (anchor === "prepend") wrap.scrollTop = wrap.scrollHeight - fromBottom;
    else if (S.stuck || anchor === "bottom") scrollToBottom();
    else wrap.scrollTop = top;
    runTimers(T.tl);
    updateJump();
    if (mode === "msgs" && !tl.noMore && !tl.loadingOlder && wrap.scrollHeight <= wrap.clientHeight + 48) {
      setTimeout(loadOlder, 0);
    }
  }

  function lockedPanel() {
    const refused = S.locked && S.locked.refused;
    const st = S.locked ? S.locked.status : 0;
    return h("div", { class: "conv-empty conv-locked" },
      h("span", { class: "empty-icon is-warn" }, icon("key")),
      h("h2", null, "Not signed in"),
      h("p", null, refused
        ? (st === 429
          ? "The bridge is throttling failed sign-ins (429). The stored admin token was refused; paste the current one."
          : "The bridge answered " + st + " Unauthorized: the admin token stored in this browser is missing or wrong.")
        : "This page needs the admin token. Without it the bridge answers 401 Unauthorized to every admin request."),
      h("p", { class: "muted" }, "Find it in admin.token in the data directory, or run ", h("code", null, "argybargy token"), " on the server."),
      h("button", { type: "button", class: "btn btn--primary", id: "pasteToken", on: { click: () => openDrawer("adToken") } }, icon("key"), "Paste admin token"));
  }

  function buildMessages(msgs, room) {
    const frag = document.createDocumentFragment();
    const tl = S.tl;
    if (!tl.noMore || tl.loadingOlder) {
      frag.append(h("div", { class: "conv-older" }, tl.loadingOlder ? h("span", { class: "spinner" }) : null,
        tl.loadingOlder ? "Loading earlier messages…" : "Scroll up for earlier messages"));
    } else if (tl.msgs.length && tl.msgs[0].seq <= 1) {
      frag.append(h("div", { class: "conv-start" }, h("span", { class: "conv-start__icon" }, icon("hash")),
        h("div", null, h("strong", null, "This is the start of #" + room), h("span", null, S.view.agent ? "Filtered to messages from or to @" + S.view.agent + "." : "Every retained message is below."))));
    }
    let lastDay = null, group = null, lastFrom = null;
    for (const m of msgs) {
      const d = new Date(m.ts);
      const key = Number.isNaN(d.getTime()) ? "?" : dayKey(d);
      if (key !== lastDay) {
        frag.append(h("div", { class: "conv-daydiv", role: "separator" }, h("span", null, key === "?" ? "Unknown date" : dayLabel(d))));
        lastDay = key;
        group = null;
      }
      let first = false;
      if (!group || m.from !== lastFrom) {
        group = makeGroup(m);
        frag.append(group.el);
        lastFrom = m.from;
        first = true;
      }
      group.body.append(msgRow(m, first, room));
    }
    return frag;
  }

  function makeGroup(m) {
    const isOp = m.from === "operator";
    const body = h("div", { class: "conv-group__body" },
      h("div", { class: "conv-group__head" },
        h("span", { class: "conv-group__name" }, m.from),
        isOp ? h("span", { class: "op-pill" }, "operator") : null,
        timeEl(m.ts, "conv-time")));
    const el = h("div", { class: "conv-group" + (isOp ? " conv-group--op" : "") }, h("div", { class: "conv-group__av" }, avatar(m.from, "md")), body);
    return { el, body };
  }

  function msgRow(m, first, room) {
    const row = h("div", { class: "conv-msg", "data-seq": m.seq });
    if (!first) row.append(timeEl(m.ts, "conv-time conv-time--gutter"));
    const line = h("div", { class: "conv-msg__line" });
    if (m.to && m.to !== "all" && m.to !== S.view.agent) line.append(h("span", { class: "conv-to", title: "Direct message to " + m.to }, "→ " + m.to));
    line.append(h("span", { class: "conv-text" }, str(m.text)));
    const want = m.expects_reply;
    if (m.claimed_by) {
      line.append(h("span", { class: "badge-pill badge-pill--claimed", "data-badge": "claimed", title: "Claimed by " + m.claimed_by }, icon("check"), "claimed · " + m.claimed_by));
    } else if (want && want !== "none") {
      const clock = questionClock(m, S.tl.msgs, room);
      const t = h("span", { class: "badge-pill__timer" });
      T.tl.push(() => { t.textContent = clock.text(); });
      line.append(h("span", { class: "badge-pill badge-pill--expects" + (clock.done ? " is-done" : ""), "data-badge": "expects",
        title: clock.done ? "Answered" : "Waiting for " + (m.expects_reply_resolved || want) },
      clock.done ? icon("check") : null, "expects · " + (m.expects_reply_resolved || want) + " ", t));
    }
    row.append(line);
    return row;
  }

  function scrollToBottom() {
    const wrap = $("timelineWrap");
    wrap.scrollTop = wrap.scrollHeight;
    S.stuck = true;
  }
  function updateJump() {
    const btn = $("jumpBtn");
    btn.hidden = S.stuck || !S.tl.msgs.length || !!S.locked;
  }
  function onScroll() {
    const wrap = $("timelineWrap");
    S.stuck = wrap.scrollHeight - wrap.scrollTop - wrap.clientHeight <= STICK_PX;
    updateJump();
    if (wrap.scrollTop < 80) loadOlder();
  }

  /* ------------------------------------------------------------ composer */
  function composerTo() { return S.view.agent || S.composer.to; }
  function renderComposer() {
    const room = S.view.room;
    const enabled = !S.locked && !!room && !!S.snap;
    const input = $("composerInput");
    input.disabled = !enabled;
    input.placeholder = !room ? "Pick a room to start" : S.view.agent ? "Message @" + S.view.agent : "Message #" + room;
    $("sendBtn").disabled = !enabled || S.composer.sending;
    const asPill = $("asPill");
    asPill.textContent = "as " + S.composer.sender;
    asPill.setAttribute("aria-label", "Sending as " + S.composer.sender + " — change sender name");
    asPill.disabled = !enabled;
    const to = composerTo();
    const toPill = $("toPill");
    toPill.textContent = "→ " + (to === "all" ? "everyone" : to);
    toPill.disabled = !enabled || !!S.view.agent;
    toPill.title = S.view.agent ? "Direct view: messages go to " + S.view.agent : "Choose who receives the message";
    const ex = $("expectsPill");
    const choice = S.composer.expects;
    ex.textContent = "expects · " + (choice ?? (to === "all" ? "none" : to));
    ex.classList.toggle("conv-pill--armed", choice != null);
    ex.setAttribute("aria-pressed", choice != null ? "true" : "false");
    ex.disabled = !enabled;
    const note = $("composerNote");
    const closed = room && S.snap && isClosed(room);
    note.hidden = !closed;
    if (closed) note.replaceChildren(icon("lock"), h("span", null, "#" + room + " is closed. You can still post; its agents have been told to leave."));
  }

  function cycleExpects() {
    const to = composerTo();
    const c = S.composer.expects;
    S.composer.expects = c == null ? "anyone" : c === "anyone" && to !== "all" ? to : null;
    renderComposer();
  }

  function openMenu() {
    const menu = $("toMenu"), pill = $("toPill");
    if (pill.disabled) return;
    const online = agentModel(S.view.room).listed.filter((r) => r.online && r.name !== "operator").map((r) => r.name);
    const items = [{ to: "all", label: "everyone", icon: "broadcast" }, ...online.map((n) => ({ to: n, label: n }))];
    menu.replaceChildren();
    for (const it of items) {
      const sel = S.composer.to === it.to;
      menu.append(h("button", {
        type: "button", role: "menuitemradio", class: "menu__item", "data-to": it.to, "aria-checked": sel ? "true" : "false",
        on: { click: () => { pickTo(it.to); } },
      }, it.icon ? h("span", { class: "menu__icon" }, icon(it.icon)) : avatar(it.label, "xs"), h("span", { class: "menu__label" }, it.label),
      sel ? icon("check", "menu__check") : null));
    }
    if (!online.length) menu.append(h("p", { class: "menu__note" }, "No agents online in #" + S.view.room));
    menu.hidden = false;
    S.menuOpen = true;
    pill.setAttribute("aria-expanded", "true");
    const cur = menu.querySelector('[aria-checked="true"]') || menu.querySelector("button");
    if (cur) cur.focus();
  }
  function closeMenu() {
    const menu = $("toMenu");
    if (!S.menuOpen) return;
    menu.hidden = true;
    S.menuOpen = false;
    $("toPill").setAttribute("aria-expanded", "false");
  }
  function pickTo(to) {
    if (S.composer.to !== to && S.composer.expects !== "anyone") S.composer.expects = null;
    S.composer.to = to;
    closeMenu();
    renderComposer();
    $("composerInput").focus();
  }

  function editSender() {
    const pill = $("asPill"), slot = $("asSlot");
    if (pill.disabled) return;
    const inp = h("input", { class: "conv-pill conv-pill--edit", id: "asInput", maxlength: "16", value: S.composer.sender,
      "aria-label": "Sender name (blank keeps " + S.composer.sender + ")", spellcheck: "false", autocomplete: "off" });
    let done = false;
    const finish = (keep) => {
      if (done) return;
      done = true;
      const v = inp.value.trim().slice(0, 16);
      if (keep && v) S.composer.sender = v;
      inp.remove();
      pill.hidden = false;
      renderComposer();
    };
    inp.addEventListener("keydown", (e) => {
      if (e.key === "Enter") { e.preventDefault(); finish(true); $("composerInput").focus(); }
      else if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); finish(false); pill.focus(); }
    });
    inp.addEventListener("blur", () => finish(true));
    pill.hidden = true;
    slot.append(inp);
    inp.focus();
    inp.select();
  }

  async function send() {
    const input = $("composerInput"), err = $("composerError");
    const room = S.view.room;
    const text = input.value;
    if (!room || S.locked || S.composer.sending || !text.trim()) return;
    S.composer.sending = true;
    renderComposer();
    const body = { room, sender: S.composer.sender, to: composerTo(), text, expects_reply: S.composer.expects ?? null };
    let r = null;
    try { r = await api("/admin/say", { body }); } catch { r = null; }
    S.composer.sending = false;
    if (r && r.ok) {
      if (input.value === text) input.value = "";
      autosize();
      S.composer.expects = null;
      err.hidden = true;
      S.stuck = true;
      renderComposer();
      refresh();
    } else {
      if (r && isAuthFail(r.status)) lockOut(r.status);
      err.textContent = r ? errMsg(r) : "Could not reach the bridge — the message was not sent.";
      err.hidden = false;
      renderComposer();
    }
    if (!input.disabled) input.focus();
  }
  function autosize() {
    const input = $("composerInput");
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 180) + "px";
  }

  /* -------------------------------------------------------- admin drawer */
  function openDrawer(focusId) {
    S.drawerOpen = true;
    const root = $("adRoot");
    root.hidden = false;
    $("adScrim").hidden = false;
    $("openDrawer").setAttribute("aria-expanded", "true");
    closeNav();
    S.sig.drawer = null;
    renderDrawer();
    requestAnimationFrame(() => root.classList.add("open"));
    const f = $(focusId || "adClose");
    if (f) { f.focus(); if (typeof f.select === "function" && focusId === "adToken") f.select(); }
  }
  function closeDrawer() {
    if (!S.drawerOpen) return;
    S.drawerOpen = false;
    const root = $("adRoot");
    root.classList.remove("open");
    root.hidden = true;
    $("adScrim").hidden = true;
    $("openDrawer").setAttribute("aria-expanded", "false");
    $("openDrawer").focus();
  }

  function renderDrawer() {
    const sn = S.snap;
    $("adUrl").textContent = (sn && str(sn.public_url)) || location.origin;
    $("adVersion").textContent = sn
      ? "argybargy " + str(sn.version) + " · keys " + (sn.hash_codes ? "hashed at rest (shown once)" : "stored in plaintext") +
        " · idle limit " + (num(sn.max_idle_seconds) ? lastSeen(num(sn.max_idle_seconds)) : "off")
      : "Sign in to see the bridge's details.";
    const tokIn = $("adToken");
    if (!tokIn.value && S.token && document.activeElement !== tokIn) tokIn.value = S.token;
    renderRoomPicker();
    renderKeys();
    const regen = $("adRegen");
    const armed = S.armed.regen && Date.now() < S.armed.regen;
    regen.replaceChildren(icon("refresh"), h("span", null, armed ? "Really regenerate?" : "Regenerate admin token"));
    regen.classList.toggle("btn--danger-solid", !!armed);
  }

  function renderRoomPicker() {
    const sel = $("adRoom");
    const rooms = allRooms().filter((r) => !isClosed(r));
    if (!rooms.includes("default")) rooms.push("default");
    const want = S.mintRoom || S.view.room || rooms[0];
    const sig = JSON.stringify([rooms, want]);
    if (!changed("picker", sig)) return;
    const opts = rooms.map((r) => h("option", { value: r }, "#" + r));
    opts.push(h("option", { value: "__new__" }, "New room…"));
    sel.replaceChildren(...opts);
    sel.value = rooms.includes(want) ? want : rooms[0];
    if (want && !rooms.includes(want) && NAME_RE.test(want)) {
      sel.insertBefore(h("option", { value: want }, "#" + want), sel.firstChild);
      sel.value = want;
    }
  }

  function renderKeys() {
    const box = $("adKeys");
    const sn = S.snap;
    const codes = arr(sn && sn.codes).filter((c) => c && typeof c.name === "string");
    const armed = S.armed.revoke && Date.now() < S.armed.revoke.until ? S.armed.revoke.id : null;
    const onlineOf = (c) => arr(own(sn && sn.roster, c.room)).some((r) => r && r.name === c.name && r.online === true);
    const sig = JSON.stringify([!!sn, codes.map((c) => [c.code, c.name, c.room, c.expires, c.capabilities, onlineOf(c)]), armed]);
    $("adKeyCount").textContent = "· " + codes.length;
    if (!changed("keys", sig)) { runTimers(T.drawer); return; }
    T.drawer = [];
    rebuild(box, () => {
      if (!sn) { box.append(h("p", { class: "ad-hint" }, "Keys are listed once the admin token is accepted.")); return; }
      if (!codes.length) { box.append(h("p", { class: "ad-hint" }, "No keys yet. Mint one above and hand it to an agent.")); return; }
      for (const c of codes) {
        const id = c.name + "\n" + c.room;
        const exp = c.expires ? Date.parse(c.expires) : null;
        const expEl = h("span", null);
        const expired = exp != null && Number.isFinite(exp) && exp <= serverNow();
        T.drawer.push(() => {
          if (exp == null || !Number.isFinite(exp)) { expEl.textContent = "never"; expEl.title = "This key never expires"; }
          else if (exp <= serverNow()) { expEl.textContent = "expired " + fmtShort.format(new Date(exp)); expEl.title = ""; }
          else { expEl.textContent = fmtShort.format(new Date(exp)); expEl.title = "Expires in " + lastSeen((exp - serverNow()) / 1000); }
        });
        const code = str(c.code);
        const plain = code && !code.includes("…");
        const isArmed = armed === id;
        box.append(h("div", { class: "ad-key" + (expired ? " is-expired" : "") },
          h("span", { class: "av-dot av-dot--inline", "data-life": onlineOf(c) ? "online" : "offline", title: onlineOf(c) ? "online" : "offline" }),
          h("div", { class: "ad-key__main" },
            h("div", { class: "ad-key__top" }, h("span", { class: "ad-key__name" }, c.name),
              h("span", { class: "ad-key__meta" }, "#" + c.room + " · ", expEl)),
            plain
              ? h("div", { class: "ad-key__code" }, h("code", null, code),
                h("button", { type: "button", class: "icon-btn icon-btn--sm", "aria-label": "Copy key for " + c.name + " in #" + c.room,
                  title: "Copy key", "data-key": "copy:" + id, on: { click: (e) => copyText(code, e.currentTarget) } }, icon("copy")))
              : code ? h("div", { class: "ad-key__code is-masked", title: "Hashed at rest: the full key was shown once, when it was minted" }, h("code", null, code)) : null,
            c.capabilities ? h("div", { class: "ad-kcap", title: str(c.capabilities) }, str(c.capabilities)) : null),
          h("button", {
            type: "button", class: "btn btn--sm " + (isArmed ? "btn--danger-solid" : "btn--ghost"),
            "data-revoke": c.name, "data-revoke-room": c.room, "data-key": "revoke:" + id,
            on: { click: () => revokeClick(c.name, c.room) },
          }, isArmed ? "Sure?" : "Revoke", srOnly(" key for " + c.name + " in #" + c.room))));
      }
    });
    runTimers(T.drawer);
  }

  function revokeClick(name, room) {
    const id = name + "\n" + room;
    const cur = S.armed.revoke;
    if (cur && cur.id === id && Date.now() < cur.until) {
      S.armed.revoke = null;
      renderKeys();
      revoke(name, room);
      return;
    }
    S.armed.revoke = { id, until: Date.now() + 2500 };
    renderKeys();
    setTimeout(() => { if (S.armed.revoke && Date.now() >= S.armed.revoke.until) { S.armed.revoke = null; renderKeys(); } }, 2550);
  }
  async function revoke(name, room) {
    const r = await api("/admin/revoke", { body: { target: name, room } }).catch(() => null);
    if (!r) { toast("Could not reach the bridge.", "error"); return; }
    if (isAuthFail(r.status)) { lockOut(r.status); return; }
    if (!r.ok) { toast(errMsg(r), "error"); return; }
    const n = r.data && typeof r.data.revoked === "number" ? r.data.revoked : 0;
    toast(n ? "Revoked the key for " + name + " in #" + room + "." : "Nothing matched " + name + " in #" + room + ".", n ? "ok" : "error");
    refresh();
  }

  async function mint() {
    const out = $("adMintResult"), btn = $("adMint");
    const name = $("adName").value.trim();
    const sel = $("adRoom").value;
    const newRoom = $("adRoomNew");
    const room = sel === "__new__" ? (newRoom ? newRoom.value.trim() : "") : sel;
    const expires = $("adExpiry").value;
    const caps = $("adCap").value;
    const fail = (msg) => out.replaceChildren(h("div", { class: "ad-errorbox", role: "alert" }, icon("warn"), h("span", null, msg)));
    if (!name) { fail("Give the key a name, e.g. claude-planner."); $("adName").focus(); return; }
    if (!room) { fail("Name the new room first."); if (newRoom) newRoom.focus(); return; }
    btn.disabled = true;
    const body = { name, room, expires: expires === "never" ? null : expires, capabilities: caps.trim() ? caps : null };
    let r = null;
    try { r = await api("/admin/invite", { body }); } catch { r = null; }
    btn.disabled = false;
    if (!r) { fail("Could not reach the bridge."); return; }
    if (isAuthFail(r.status)) { lockOut(r.status); fail(errMsg(r)); return; }
    if (!r.ok || !r.data) { fail(errMsg(r)); return; }
    const d = r.data;
    S.mintRoom = room;
    $("adName").value = "";
    $("adCap").value = "";
    const code = str(d.code);
    const instr = str(d.instruction);
    out.replaceChildren(h("div", { class: "ad-resultbox", role: "status" },
      h("div", { class: "ad-resultbox__head" }, icon("check"), h("span", null, "Key for " + str(d.name) + " in #" + str(d.room))),
      h("div", { class: "ad-key__code ad-key__code--big" }, h("code", { id: "adMintCode" }, code),
        h("button", { type: "button", class: "btn btn--sm btn--ghost", "aria-label": "Copy the new key", on: { click: (e) => copyText(code, e.currentTarget) } }, icon("copy"), "Copy")),
      instr ? h("div", { class: "ad-instr" },
        h("p", { class: "ad-instr__text" }, instr),
        h("button", { type: "button", class: "btn btn--sm btn--ghost", "aria-label": "Copy the agent instructions", on: { click: (e) => copyText(instr, e.currentTarget) } }, icon("copy"), "Copy instructions")) : null,
      S.snap && S.snap.hash_codes ? h("p", { class: "ad-hint" }, "Shown once: only a hash is stored, so copy it now.") : null));
    refresh();
  }

  async function saveToken() {
    const inp = $("adToken"), status = $("adTokenStatus");
    const v = inp.value.trim();
    const say = (state, ...kids) => { status.setAttribute("data-state", state); status.replaceChildren(...kids); };
    if (!v) { say("empty", "The field is empty — paste the admin token first."); inp.focus(); return; }
    if (!tokenShapeOk(v)) { say("rejected", "That is not a token: it contains spaces or characters a token never has."); return; }
    S.token = v;
    lsSet(LS.token, v);
    S.locked = null;
    clearTimeout(S.recheckTimer);
    say("checking", h("span", { class: "spinner" }), "Checking…");
    const res = await fetchState();
    if (S.token !== v) return;
    if (res.kind === "ok") { say("ok", icon("check"), "Accepted — signed in."); startFeed(); }
    else if (res.kind === "auth" && res.status !== 429) {
      say("rejected", "Rejected (" + res.status + "): the bridge does not know this token. Run ", h("code", null, "argybargy token"), " on the server to print the current one.");
    } else if (res.kind === "auth") {
      say("unconfirmed", "Saved, but not confirmed: the bridge is throttling failed sign-ins (429). It is re-checked in 30 s.");
    } else {
      say("unconfirmed", "Saved, but not confirmed: " + (res.message || "the bridge did not answer") + ".");
      startFeed();
    }
  }

  async function regenerate() {
    const out = $("adRegenResult");
    if (!(S.armed.regen && Date.now() < S.armed.regen)) {
      S.armed.regen = Date.now() + 3000;
      renderDrawer();
      setTimeout(() => { if (S.armed.regen && Date.now() >= S.armed.regen) { S.armed.regen = null; renderDrawer(); } }, 3050);
      return;
    }
    S.armed.regen = null;
    renderDrawer();
    let r = null;
    try { r = await api("/admin/regenerate-token", { method: "POST" }); } catch { r = null; }
    const fail = (...kids) => out.replaceChildren(h("div", { class: "ad-errorbox", role: "alert" }, icon("warn"), h("span", null, ...kids)));
    if (!r) { fail("Could not reach the bridge."); return; }
    if (r.status === 401 || r.status === 403) {
      fail("Regenerating needs a valid admin token, and the stored one was refused (" + r.status + "). Run ",
        h("code", null, "argybargy token"), " on the server (or read admin.token in its data directory) and save it above first.");
      return;
    }
    if (!r.ok || !r.data || typeof r.data.admin_token !== "string") { fail(errMsg(r)); return; }
    const tok = r.data.admin_token;
    S.token = tok;
    lsSet(LS.token, tok);
    $("adToken").value = tok;
    out.replaceChildren(h("div", { class: "ad-resultbox", role: "status" },
      h("div", { class: "ad-resultbox__head" }, icon("check"), h("span", null, "New admin token — saved in this browser")),
      h("div", { class: "ad-key__code ad-key__code--big" }, h("code", null, tok),
        h("button", { type: "button", class: "btn btn--sm btn--ghost", "aria-label": "Copy the new admin token", on: { click: (e) => copyText(tok, e.currentTarget) } }, icon("copy"), "Copy")),
      h("p", { class: "ad-hint" }, "The old token stopped working. Other dashboards must paste this one; the CLI reads admin.token by itself.")));
    startFeed();
  }

  async function copyText(text, btn) {
    let ok = false;
    try { await navigator.clipboard.writeText(text); ok = true; } catch { ok = false; }
    if (!ok) {
      const ta = h("textarea", { class: "sr-only", "aria-hidden": "true" });
      ta.value = text;
      document.body.append(ta);
      ta.select();
      try { ok = document.execCommand("copy"); } catch { ok = false; }
      ta.remove();
    }
    if (btn) {
      btn.classList.add("is-copied");
      setTimeout(() => btn.classList.remove("is-copied"), 1200);
    }
    toast(ok ? "Copied to the clipboard." : "Copy failed — select the text and copy it by hand.", ok ? "ok" : "error");
  }

  let toastTimer = 0;
  function toast(msg, kind) {
    const t = $("toast");
    t.replaceChildren(icon(kind === "error" ? "warn" : "check"), h("span", null, msg));
    t.setAttribute("data-kind", kind || "ok");
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, 3800);
  }

  /* --------------------------------------------------------- nav (phone) */
  function openNav() {
    S.navOpen = true;
    const nav = $("navWrap");
    nav.classList.remove("-translate-x-full");
    nav.classList.add("translate-x-0");
    $("navScrim").hidden = false;
    $("navOpen").setAttribute("aria-expanded", "true");
    const cur = nav.querySelector('[aria-current="true"]') || $("navClose");
    if (cur && window.matchMedia("(max-width: 640px)").matches) cur.focus({ preventScroll: true });
  }
  function closeNav() {
    const nav = $("navWrap");
    const was = S.navOpen;
    S.navOpen = false;
    nav.classList.remove("translate-x-0");
    nav.classList.add("-translate-x-full");
    $("navScrim").hidden = true;
    $("navOpen").setAttribute("aria-expanded", "false");
    if (was && nav.contains(document.activeElement) && window.matchMedia("(max-width: 640px)").matches) $("navOpen").focus({ preventScroll: true });
  }

  /* -------------------------------------------------------------- theme */
  function applyTheme(t) {
    S.theme = t === "light" || t === "dark" ? t : "auto";
    document.documentElement.setAttribute("data-theme", S.theme);
    for (const b of document.querySelectorAll("[data-theme-choice]")) {
      b.setAttribute("aria-pressed", b.getAttribute("data-theme-choice") === S.theme ? "true" : "false");
    }
  }

  /* --------------------------------------------------------------- tick */
  function runTimers(list) { for (const fn of list) fn(); }
  function tick() {
    if (S.snap) {
      renderSidebar();
      renderHeader();
      runTimers(T.tl);
      if (S.drawerOpen) renderKeys();
    }
    if (S.token && !S.locked && Date.now() - S.lastFetchAttempt > SAFETY_MS) refresh();
  }

  /* --------------------------------------------------------------- boot */
  function wire() {
    for (const el of document.querySelectorAll("[data-icon]")) el.replaceWith(icon(el.getAttribute("data-icon")));
    $("navOpen").addEventListener("click", () => (S.navOpen ? closeNav() : openNav()));
    $("navClose").addEventListener("click", closeNav);
    $("navScrim").addEventListener("click", closeNav);
    $("openDrawer").addEventListener("click", () => (S.drawerOpen ? closeDrawer() : openDrawer()));
    $("adClose").addEventListener("click", closeDrawer);
    $("adScrim").addEventListener("click", closeDrawer);
    for (const b of document.querySelectorAll("[data-theme-choice]")) {
      b.addEventListener("click", () => { const t = b.getAttribute("data-theme-choice"); lsSet(LS.theme, t); applyTheme(t); });
    }
    $("timelineWrap").addEventListener("scroll", onScroll, { passive: true });
    $("jumpBtn").addEventListener("click", () => { scrollToBottom(); updateJump(); });
    const input = $("composerInput");
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.altKey && !e.isComposing) { e.preventDefault(); send(); }
    });
    input.addEventListener("input", autosize);
    $("sendBtn").addEventListener("click", send);
    $("asPill").addEventListener("click", editSender);
    $("toPill").addEventListener("click", (e) => { e.stopPropagation(); S.menuOpen ? closeMenu() : openMenu(); });
    $("toMenu").addEventListener("keydown", (e) => {
      const items = [...$("toMenu").querySelectorAll("button")];
      const i = items.indexOf(document.activeElement);
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        const n = items.length;
        items[(i + (e.key === "ArrowDown" ? 1 : n - 1) + n) % n].focus();
      } else if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); closeMenu(); $("toPill").focus(); }
    });
    $("expectsPill").addEventListener("click", cycleExpects);
    document.addEventListener("click", (e) => {
      if (S.menuOpen && !$("toMenu").contains(e.target) && e.target !== $("toPill")) closeMenu();
    });
    document.addEventListener("keydown", (e) => {
      if (e.key !== "Escape") return;
      if (S.menuOpen) { closeMenu(); $("toPill").focus(); } else if (S.drawerOpen) closeDrawer(); else if (S.navOpen) closeNav();
    });
    $("adTokenSave").addEventListener("click", saveToken);
    $("adToken").addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); saveToken(); } });
    $("adMint").addEventListener("click", mint);
    $("adName").addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); mint(); } });
    $("adCap").addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); mint(); } });
    $("adRoom").addEventListener("change", () => {
      const sel = $("adRoom");
      const existing = $("adRoomNew");
      if (sel.value === "__new__") {
        if (!existing) {
          const inp = h("input", { id: "adRoomNew", class: "input", maxlength: "64", placeholder: "new-room", "aria-label": "New room name", spellcheck: "false", autocomplete: "off" });
          sel.closest(".field").append(inp);
          inp.focus();
        }
      } else {
        S.mintRoom = sel.value;
        if (existing) existing.remove();
      }
    });
    $("adUrlCopy").addEventListener("click", (e) => copyText($("adUrl").textContent, e.currentTarget));
    $("adRegen").addEventListener("click", regenerate);
    window.addEventListener("storage", (e) => {
      if (e.key === LS.token) {
        S.token = (e.newValue || "").trim();
        if (!S.token) { lockOut(0); return; }
        S.locked = null;
        refresh().then(() => { if (!S.locked) startFeed(); });
      } else if (e.key === LS.theme) applyTheme(e.newValue);
    });
  }

  function boot() {
    applyTheme(lsGet(LS.theme));
    S.showClosed = lsGet(LS.closed) === "1";
    loadSeen();
    wire();
    try {
      const q = new URL(location.href).searchParams.get("room");
      if (q && q.length <= 64 && NAME_RE.test(q)) { S.view.room = q; S.tl = newTimeline(q); }
    } catch { /* no deep link */ }
    S.token = (lsGet(LS.token) || "").trim();
    closeNav();
    setInterval(tick, 1000);
    if (!S.token) {
      S.locked = { status: 0, refused: false };
      setConn("idle");
      render();
      return;
    }
    render();
    refresh().then(() => startFeed());
  }

  window.__argy = Object.freeze({
    hueFor, glyphFor, brandAccent, monogram, lastSeen, elapsedSince, fmtWait, dedupe,
    roomStatus, isClosed, partitionRooms, waitingRows, agentState,
    hue: hueFor, glyph: glyphFor,
    view: () => ({ room: S.view.room, agent: S.view.agent, conn: S.conn, locked: !!S.locked, cursor: S.feedCursor }),
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
