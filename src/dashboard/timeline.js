/* argybargy dashboard: The message timeline: grouping, day dividers, one message row, scrolling and the jump button. */
import { runTimers } from "./app.js";
import { add, avatar, changed, h, icon, timeEl } from "./dom.js";
import { openDrawer } from "./drawer.js";
import { claimBadge, claimNote } from "./leases.js";
import { loadOlder } from "./live.js";
import { dayKey, dayLabel, questionClock } from "./model.js";
import { receiptList, receiptTicks, receiptsSig } from "./receipts.js";
import { S, T } from "./state.js";
import { orphanMark, replyButton, splitThreads, threadFold } from "./threads.js";
import { $, STICK_PX, arr, isClosed, str } from "./util.js";

export function visibleMsgs() {
  const a = S.view.agent;
  return a ? S.tl.msgs.filter((m) => m.from === a || m.to === a) : S.tl.msgs;
}

export function renderTimeline(anchor) {
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
    msgs.map((m) => [m.seq, m.claimed_by, m.expects_reply_resolved, m.claim_expires_at, m.claim_note, m.thread, m.receipts]),
    msgs.length ? isClosed(room) : 0, arr(S.snap && S.snap.waiting).filter((w) => w.room === room).map((w) => w.seq),
    [...S.threadsOpen], receiptsSig()]);
  if (!changed("tl", sig)) { runTimers(T.tl); return; }
  T.tl = [];
  const fromBottom = wrap.scrollHeight - wrap.scrollTop;
  const top = wrap.scrollTop;
  const active = document.activeElement;
  const focusKey = active && box.contains(active) ? active.getAttribute("data-key") : null;
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
  if (focusKey) {
    const again = [...box.querySelectorAll("[data-key]")].find((e) => e.getAttribute("data-key") === focusKey);
    if (again) again.focus({ preventScroll: true });
  }
  runTimers(T.tl);
  updateJump();
  if (mode === "msgs" && !tl.noMore && !tl.loadingOlder && wrap.scrollHeight <= wrap.clientHeight + 48) {
    setTimeout(loadOlder, 0);
  }
}

export function lockedPanel() {
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

export function buildMessages(msgs, room) {
  const frag = document.createDocumentFragment();
  const tl = S.tl;
  if (!tl.noMore || tl.loadingOlder) {
    frag.append(h("div", { class: "conv-older" }, tl.loadingOlder ? h("span", { class: "spinner" }) : null,
      tl.loadingOlder ? "Loading earlier messages…" : "Scroll up for earlier messages"));
  } else if (tl.msgs.length && tl.msgs[0].seq <= 1) {
    frag.append(h("div", { class: "conv-start" }, h("span", { class: "conv-start__icon" }, icon("hash")),
      h("div", null, h("strong", null, "This is the start of #" + room), h("span", null, S.view.agent ? "Filtered to messages from or to @" + S.view.agent + "." : "Every retained message is below."))));
  }
  const { flow, replies } = splitThreads(msgs);
  let lastDay = null, group = null, lastFrom = null;
  for (const m of flow) {
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
    const thread = replies.get(m.seq);
    if (thread) {
      group.body.append(threadFold(m, thread, room, msgRow));
      lastFrom = null; // the next message starts a new group below the fold
    }
  }
  return frag;
}

export function makeGroup(m) {
  const isOp = m.from === "operator";
  const body = h("div", { class: "conv-group__body" },
    h("div", { class: "conv-group__head" },
      h("span", { class: "conv-group__name" }, m.from),
      isOp ? h("span", { class: "op-pill" }, "operator") : null,
      timeEl(m.ts, "conv-time")));
  const el = h("div", { class: "conv-group" + (isOp ? " conv-group--op" : "") }, h("div", { class: "conv-group__av" }, avatar(m.from, "md")), body);
  return { el, body };
}

/** One message: recipient, text, the turn badges (expects, claim lease, lapsed claim), receipt ticks, reply. */
export function msgRow(m, first, room, inThread = false) {
  const row = h("div", { class: "conv-msg", "data-seq": m.seq });
  if (!first) row.append(timeEl(m.ts, "conv-time conv-time--gutter"));
  const line = h("div", { class: "conv-msg__line" });
  if (!inThread) add(line, [orphanMark(m)]);
  if (m.to && m.to !== "all" && m.to !== S.view.agent) line.append(h("span", { class: "conv-to", title: "Direct message to " + m.to }, "→ " + m.to));
  line.append(h("span", { class: "conv-text" }, str(m.text)));
  const want = m.expects_reply;
  if (m.claimed_by) {
    line.append(claimBadge(m, T.tl));
  } else if (want && want !== "none") {
    const clock = questionClock(m, S.tl.msgs, room);
    const t = h("span", { class: "badge-pill__timer" });
    T.tl.push(() => { t.textContent = clock.text(); });
    line.append(h("span", { class: "badge-pill badge-pill--expects" + (clock.done ? " is-done" : ""), "data-badge": "expects",
      title: clock.done ? "Answered" : "Waiting for " + (m.expects_reply_resolved || want) },
    clock.done ? icon("check") : null, "expects · " + (m.expects_reply_resolved || want) + " ", t));
    add(line, [claimNote(m)]);
  }
  line.append(h("span", { class: "conv-acts" }, receiptTicks(m, room), replyButton(m, room)));
  add(row, [line, receiptList(m, room)]);
  return row;
}

export function scrollToBottom() {
  const wrap = $("timelineWrap");
  wrap.scrollTop = wrap.scrollHeight;
  S.stuck = true;
}
export function updateJump() {
  const btn = $("jumpBtn");
  btn.hidden = S.stuck || !S.tl.msgs.length || !!S.locked;
}
export function onScroll() {
  const wrap = $("timelineWrap");
  S.stuck = wrap.scrollHeight - wrap.scrollTop - wrap.clientHeight <= STICK_PX;
  updateJump();
  if (wrap.scrollTop < 80) loadOlder();
}
