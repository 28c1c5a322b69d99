/* argybargy dashboard: Navigation and the sidebar: the inbox, the room list and the roster. */
import { closeNav, runTimers } from "./app.js";
import { closeMenu, renderComposer } from "./composer.js";
import { avatar, changed, h, icon, rebuild, srOnly } from "./dom.js";
import { renderDrawer } from "./drawer.js";
import { renderHeader } from "./header.js";
import { claimBadge } from "./leases.js";
import { reconcileSeen, refresh } from "./live.js";
import { agentModel, allRooms, fmtAt, fmtShort, pausedRun, sinceFetch, summaries, unread } from "./model.js";
import { S, T, newTimeline } from "./state.js";
import { renderTimeline } from "./timeline.js";
import { $, LOUD_S, LS, agentState, arr, fmtWait, isClosed, lastSeen, lsSet, num, partitionRooms, roomStatus, waitingRows } from "./util.js";

export function selectRoom(room, opts = {}) {
  const agent = opts.agent || null;
  const roomChanged = room !== S.view.room;
  const agentChanged = agent !== S.view.agent;
  S.view.room = room;
  S.view.agent = agent;
  if (roomChanged) {
    S.tl = newTimeline(room);
    S.composer.to = "all";
    S.composer.expects = null;
    S.composer.replyTo = null;
    S.receiptsOpen = null;
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

export function render() {
  renderSidebar();
  renderHeader();
  renderTimeline();
  renderComposer();
  if (S.drawerOpen) renderDrawer();
}

export function renderSidebar() {
  const locked = !!S.locked || !S.snap;
  renderInbox(locked);
  renderRooms(locked);
  renderAgents(locked);
}

export function renderInbox(locked) {
  const box = $("sbInbox");
  const rows = locked ? [] : waitingRows();
  // Timers count from the snapshot they were built from, so every new snapshot rebuilds.
  if (!changed("inbox", JSON.stringify([S.fetchN, rows.map((r) => [r.room, r.seq, r.from, r.text, r.expects, r.note, r.claimed_by, r.claim_expires_at])]))) { runTimers(T.inbox); return; }
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
        h("span", { class: "wait-row__text", "data-testid": "waiting-text" }, w.text),
        w.claimed_by ? claimBadge(w, T.inbox, "wait-row__claim") : null,
        w.note ? h("span", { class: "wait-row__note", "data-testid": "waiting-note" }, icon("refresh"), w.note) : null));
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

export function renderRooms(locked) {
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
    return { room, closed: st.status === "closed", by: st.closed_by, at: st.closed_at, paused: st.status !== "closed" ? pausedRun(room, sums) : null,
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
        : r.paused != null ? "#" + r.room + " — paused by the loop guard after " + r.paused + " agent messages without you" : "#" + r.room;
      const btn = h("button", {
        type: "button", class: "sb-room" + (r.closed ? " closed" : "") + (r.paused != null ? " paused" : "") + (r.active ? " active" : ""),
        "data-room": r.room, "data-status": r.closed ? "closed" : r.paused != null ? "paused" : "open", "data-key": "r:" + r.room,
        "aria-current": r.active ? "true" : null, title,
        on: { click: () => selectRoom(r.room) },
      },
      icon(r.closed ? "lock" : r.paused != null ? "pause" : "hash", "sb-room__icon"),
      h("span", { class: "sb-room__name" }, r.room),
      r.unread ? h("span", { class: "unread-dot", "data-unread": "true" }, srOnly("unread messages")) : null,
      meta);
      if (r.closed) meta.textContent = "closed";
      else if (r.paused != null) meta.replaceChildren(h("span", { class: "paused-badge", "data-testid": "paused-badge" }, "paused"));
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

export function stampFor(r) {
  if (r.online) return { text: () => "online", kind: "online" };
  if (r.seenBase != null) return { text: () => lastSeen(r.seenBase + sinceFetch()) + " ago", kind: "seen" };
  if (r.postBase != null) return { text: () => lastSeen(r.postBase + sinceFetch()) + " ago", kind: "posted" };
  return { text: () => "invited", kind: "invited" };
}

export function agentRow(r, room, waiting) {
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

export function renderAgents(locked) {
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
