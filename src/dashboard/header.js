/* argybargy dashboard: The header of the selected room or agent, and close/reopen. */
import { runTimers } from "./app.js";
import { avatar, changed, h, icon, rebuild } from "./dom.js";
import { toast } from "./drawer.js";
import { api, errMsg, isAuthFail, lockOut, refresh } from "./live.js";
import { claimBadge } from "./leases.js";
import { agentModel, findAgent, fmtAt, fmtFull, latestTurn, pausedRun, questionClock, sinceFetch, summaries } from "./model.js";
import { pausedWhy, renderPauseBar } from "./paused.js";
import { render, selectRoom, stampFor } from "./sidebar.js";
import { S, T } from "./state.js";
import { $, lastSeen, num, roomStatus } from "./util.js";

export function renderHeader() {
  renderPauseBar();
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
    sig = JSON.stringify([S.fetchN, room, agent, st, pausedRun(room),
      turn && [turn.seq, turn.claimed_by, turn.claim_expires_at, turn.expects_reply_resolved, questionClock(turn, S.tl.msgs, room).done],
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

export function headerDirect(body, room, agent) {
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

export function headerRoom(body, room) {
  const st = roomStatus(room);
  const closed = st.status === "closed";
  const why = closed ? null : pausedWhy(room);
  const shown = why ? "paused" : st.status;
  const sum = summaries().get(room);
  const present = agentModel(room).listed.filter((r) => r.online).length;
  const titles = h("div", { class: "conv-header__titles" });
  const top = h("div", { class: "conv-header__row" },
    h("h1", { class: "conv-header__title", "data-testid": "channel-title" }, room),
    h("span", { class: "status-pill", "data-testid": "room-status", "data-status": shown,
      title: closed ? "Closed" + (st.closed_by ? " by " + st.closed_by : "") + fmtAt(fmtFull, st.closed_at, " · ") : why || "Open: agents may post" },
    shown));
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
      const chip = claimBadge(turn, T.head, "chip chip--turn");
      chip.setAttribute("data-turn", "claimed");
      meta.append(chip);
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
  body.append(h("span", { class: "conv-header__icon" + (closed ? " is-closed" : "") }, icon(closed ? "lock" : why ? "pause" : "hash")), titles,
    h("span", { class: "conv-header__spacer" }), btn);
}

export async function lifecycle(action) {
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
