/* argybargy dashboard: Claim leases: the countdown on a claimed question and the note of a lapsed claim. */
import { h, icon } from "./dom.js";
import { serverNow } from "./model.js";
import { fmtWait, str } from "./util.js";

/** Milliseconds left on m's lease (≤ 0 once it ran out), or null when m holds none (unclaimed, or answered). */
export function leaseLeft(m) {
  if (!m || !m.claimed_by) return null;
  const t = Date.parse(str(m.claim_expires_at));
  return Number.isFinite(t) ? t - serverNow() : null;
}

/** "9:41 left", or "lease expired" once the server's clock passed the lease's end. */
export function leaseText(m) {
  const ms = leaseLeft(m);
  if (ms == null) return "";
  return ms <= 0 ? "lease expired" : fmtWait(Math.ceil(ms / 1000)) + " left";
}

/**
 * The badge of a claimed message: "claimed · bob", and with a running lease its countdown,
 * refreshed by `timers` on the 1 s tick. `cls` is the pill's class ("badge-pill" or "chip").
 */
export function claimBadge(m, timers, cls = "badge-pill badge-pill--claimed") {
  const leased = leaseLeft(m) != null;
  const el = h("span", { class: cls, "data-badge": "claimed", "data-lease": leased ? "running" : null },
    icon(leased ? "clock" : "check"), "claimed · " + m.claimed_by);
  if (!leased) {
    el.title = "Claimed by " + m.claimed_by;
    return el;
  }
  const t = h("span", { class: "badge-pill__timer", "data-testid": "lease-timer" });
  el.append(" ", t);
  timers.push(() => {
    const left = leaseLeft(m);
    const over = left != null && left <= 0;
    t.textContent = leaseText(m);
    el.setAttribute("data-lease", over ? "expired" : "running");
    el.title = over
      ? m.claimed_by + "'s lease ran out; the question reopens for anyone"
      : "Claimed by " + m.claimed_by + " — the lease ends at " + new Date(Date.parse(m.claim_expires_at)).toLocaleTimeString() + " unless renewed or answered";
  });
  return el;
}

/** The note of a question whose claim lapsed, e.g. "claim expired (was: bob)" (server text), or null. */
export function claimNote(m) {
  const note = str(m && m.claim_note);
  if (!note || m.claimed_by) return null;
  return h("span", { class: "badge-pill badge-pill--lapsed", "data-badge": "lapsed", "data-testid": "claim-note", title: "The claim lapsed; the question is open for anyone again" },
    icon("refresh"), note);
}
