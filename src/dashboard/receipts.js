/* argybargy dashboard: Receipt ticks on a message (delivered n/N · read n/N) and the list of its recipients. */
import { h, icon, srOnly } from "./dom.js";
import { api, isAuthFail, lockOut } from "./live.js";
import { fmtFull, fmtHM } from "./model.js";
import { S } from "./state.js";
import { renderTimeline } from "./timeline.js";
import { arr, num, str } from "./util.js";

/** The open list's per-recipient receipts: {dk, rows}, where dk ("room:seq:delivered:read") refetches on a count change. */
let detail = null;
let fetched = 0;
const pending = new Set();

/** The compact receipts of m as /admin/state gives them, or null when the message had no recipients. */
export function receiptSummary(m) {
  const r = m && m.receipts;
  if (!r || typeof r !== "object" || m.to === "operator") return null;
  const total = num(r.recipients);
  if (total <= 0) return null;
  const names = (v) => arr(v).filter((n) => typeof n === "string");
  const deliveredTo = names(r.delivered_to), readBy = names(r.read_by);
  return { total, delivered: Math.min(num(r.delivered), total), read: Math.min(num(r.read), total), deliveredTo, readBy };
}

const keyOf = (room, m) => room + ":" + m.seq;
const detailKey = (room, m, s) => keyOf(room, m) + ":" + s.delivered + ":" + s.read;

/** Hover text: who has it and who read it, by name. */
function hoverText(s) {
  const parts = [s.deliveredTo.length ? "Delivered to " + s.deliveredTo.join(", ") : "Not delivered yet"];
  if (s.readBy.length) parts.push("read by " + s.readBy.join(", "));
  const missing = s.total - s.delivered;
  if (missing > 0) parts.push(missing + " of " + s.total + " not delivered yet");
  return parts.join(" · ");
}

/**
 * The ticks of message m: a button "✓ 3/4 ✓✓ 2/4" whose title names the recipients, and which
 * (click, tap, Enter) opens a list of every recipient with the time it was delivered and read.
 */
export function receiptTicks(m, room) {
  const s = receiptSummary(m);
  if (!s) return null;
  const key = keyOf(room, m);
  const open = S.receiptsOpen === key;
  const state = s.read === s.total ? "read" : s.delivered === s.total ? "delivered" : s.delivered ? "partial" : "none";
  const btn = h("button", {
    type: "button", class: "rcpt", "data-testid": "receipts", "data-key": "rc:" + key, "data-state": state,
    "data-delivered": s.delivered, "data-read": s.read, "data-recipients": s.total,
    "aria-expanded": open ? "true" : "false", "aria-controls": open ? "rcpt-" + m.seq : null, title: hoverText(s),
    on: { click: (e) => { e.stopPropagation(); toggleReceipts(key); } },
  },
  icon("check", "rcpt__ic"), h("span", { "aria-hidden": "true" }, s.delivered + "/" + s.total),
  icon("checks", "rcpt__ic rcpt__ic--read"), h("span", { "aria-hidden": "true" }, s.read + "/" + s.total),
  srOnly("Delivered to " + s.delivered + " of " + s.total + ", read by " + s.read + " of " + s.total + ". Show who."));
  return btn;
}

/** The expanded list under message m (only while it is the open one), built from the fetched receipts or the summary. */
export function receiptList(m, room) {
  const s = receiptSummary(m);
  if (!s || S.receiptsOpen !== keyOf(room, m)) return null;
  const dk = detailKey(room, m, s);
  // While a newer count is fetched, the previous rows of the same message stay on screen.
  const rows = detail && detail.key === keyOf(room, m) ? detail.rows : null;
  if (!detail || detail.dk !== dk) fetchDetail(room, m, dk);
  const list = h("ul", { class: "rcpt-list", id: "rcpt-" + m.seq, "data-testid": "receipt-list", "aria-label": "Receipts of this message" });
  for (const r of rows || fromSummary(s)) {
    const st = r.read ? "read" : r.delivered ? "delivered" : "pending";
    const when = r.read || r.delivered;
    list.append(h("li", { class: "rcpt-list__row", "data-state": st, "data-name": r.name },
      icon(st === "read" ? "checks" : st === "delivered" ? "check" : "clock", "rcpt__ic"),
      h("span", { class: "rcpt-list__name" }, r.name),
      h("span", { class: "rcpt-list__st" }, st === "pending" ? "not delivered yet" : st),
      when ? h("time", { class: "rcpt-list__at", datetime: new Date(when).toISOString(), title: fmtFull.format(new Date(when)) }, fmtHM.format(new Date(when))) : null));
  }
  if (!rows && s.total > s.delivered) {
    list.append(h("li", { class: "rcpt-list__row rcpt-list__more", "data-state": "pending" },
      icon("clock", "rcpt__ic"), h("span", null, (s.total - s.delivered) + " more not delivered yet")));
  }
  return list;
}

/** Rows from the summary's names alone (no times); the undelivered recipients are not named there. */
function fromSummary(s) {
  const read = new Set(s.readBy);
  return s.deliveredTo.map((name) => ({ name, delivered: true, read: read.has(name) }));
}

async function fetchDetail(room, m, dk) {
  if (pending.has(dk)) return;
  pending.add(dk);
  let r = null;
  try { r = await api("/admin/messages/" + encodeURIComponent(room) + "/" + m.seq + "/receipts"); } catch { r = null; }
  pending.delete(dk);
  if (r && isAuthFail(r.status)) { lockOut(r.status); return; }
  if (!r || !r.ok || !r.data) return;
  const at = (v) => { const t = Date.parse(str(v)); return Number.isFinite(t) ? t : null; };
  if (S.receiptsOpen !== keyOf(room, m)) return;
  detail = { key: keyOf(room, m), dk, rows: arr(r.data.receipts).filter((x) => x && typeof x.name === "string")
    .map((x) => ({ name: x.name, delivered: at(x.delivered_at) ?? at(x.read_at), read: at(x.read_at) })) };
  fetched++;
  renderTimeline();
}

/** Opens the list of `key` ("room:seq"), or closes it when it is the open one. */
export function toggleReceipts(key) {
  S.receiptsOpen = S.receiptsOpen === key ? null : key;
  detail = null;
  renderTimeline();
  const list = S.receiptsOpen && document.querySelector(".rcpt-list");
  if (list) list.scrollIntoView({ block: "nearest" });
}
/** Closes any open receipt list; true when one was open. */
export function closeReceipts() {
  if (!S.receiptsOpen) return false;
  S.receiptsOpen = null;
  renderTimeline();
  return true;
}
/** The timeline's render signature of the open list (its fetched rows change what it shows). */
export function receiptsSig() {
  return [S.receiptsOpen, fetched];
}
