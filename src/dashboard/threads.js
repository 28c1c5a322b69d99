/* argybargy dashboard: Threads: replies fold under their root with a count; expand, collapse, reply in thread. */
import { renderComposer } from "./composer.js";
import { avatar, h, icon, timeEl } from "./dom.js";
import { S } from "./state.js";
import { renderTimeline } from "./timeline.js";
import { $, str } from "./util.js";

/** The root seq of the thread m replies in, or null when m is no reply (a root's thread is its own seq). */
export function threadRootOf(m) {
  const t = m && m.thread;
  return typeof t === "number" && Number.isSafeInteger(t) && t !== m.seq ? t : null;
}

/**
 * Splits the messages in view into the main flow and each root's replies, oldest first. A reply
 * whose root is not loaded (older than the page, or filtered out) stays in the flow, marked.
 */
export function splitThreads(msgs) {
  const seqs = new Set(msgs.map((m) => m.seq));
  const flow = [], replies = new Map();
  for (const m of msgs) {
    const root = threadRootOf(m);
    if (root != null && seqs.has(root)) {
      if (!replies.has(root)) replies.set(root, []);
      replies.get(root).push(m);
    } else flow.push(m);
  }
  return { flow, replies };
}

const keyOf = (room, seq) => room + ":" + seq;
const threadOpen = (room, seq) => S.threadsOpen.has(keyOf(room, seq));

/** Expands or collapses the thread of root `seq`. */
export function toggleThread(room, seq) {
  const k = keyOf(room, seq);
  if (S.threadsOpen.has(k)) S.threadsOpen.delete(k); else S.threadsOpen.add(k);
  renderTimeline();
}

/** The fold under a root: "3 replies" (who, the latest time), and when open the replies and a reply button. */
export function threadFold(root, replies, room, rowFn) {
  const open = threadOpen(room, root.seq);
  const senders = [...new Set(replies.map((m) => m.from))];
  const last = replies[replies.length - 1];
  const n = replies.length;
  const fold = h("div", { class: "thread", "data-thread": root.seq, "data-open": open ? "true" : "false" });
  fold.append(h("button", {
    type: "button", class: "thread__toggle", "data-testid": "thread-toggle", "data-key": "th:" + keyOf(room, root.seq),
    "data-count": n, "aria-expanded": open ? "true" : "false", "aria-controls": open ? "thread-" + root.seq : null,
    title: (open ? "Hide" : "Show") + " the replies to " + root.from + "'s message",
    on: { click: () => toggleThread(room, root.seq) },
  },
  h("span", { class: "thread__avs" }, senders.slice(0, 3).map((s) => avatar(s, "xs"))),
  h("span", { class: "thread__count" }, n === 1 ? "1 reply" : n + " replies"),
  h("span", { class: "thread__last" }, "last ", timeEl(last.ts, "thread__time")),
  icon(open ? "caret" : "caretRight", "thread__caret")));
  if (!open) return fold;
  const list = h("div", { class: "thread__list", id: "thread-" + root.seq, "data-testid": "thread-list" });
  for (const m of replies) {
    list.append(h("div", { class: "thread__item", "data-seq": m.seq },
      avatar(m.from, "xs"),
      h("div", { class: "thread__body" },
        h("div", { class: "thread__head" }, h("span", { class: "thread__name" }, m.from), timeEl(m.ts, "conv-time")),
        rowFn(m, true, room, true))));
  }
  list.append(h("button", { type: "button", class: "thread__reply", "data-testid": "thread-reply", "data-key": "tr:" + keyOf(room, root.seq),
    on: { click: () => replyInThread(root, room) } }, icon("reply"), "Reply in thread"));
  fold.append(list);
  return fold;
}

/** The mark on a reply shown in the main flow because its root is not loaded. */
export function orphanMark(m) {
  const root = threadRootOf(m);
  return root == null ? null : h("span", { class: "conv-inthread", title: "A reply in the thread of message #" + root }, icon("reply"), "#" + root);
}

/** The small per-message action that starts a reply to m in its thread. */
export function replyButton(m, room) {
  return h("button", { type: "button", class: "msg-reply", "data-testid": "reply-btn", "data-key": "rp:" + keyOf(room, m.seq),
    "aria-label": "Reply in thread to " + m.from, title: "Reply in thread",
    on: { click: (e) => { e.stopPropagation(); replyInThread(m, room); } } }, icon("reply"));
}

/** Points the composer at m (its reply sets reply_to = m.seq) and focuses it. */
export function replyInThread(m, room) {
  S.composer.replyTo = { room, seq: m.seq, root: threadRootOf(m) ?? m.seq, from: m.from, text: str(m.text) };
  renderComposer();
  const input = $("composerInput");
  if (!input.disabled) input.focus();
}

/** After a reply was sent: its thread opens so the operator sees it land. */
export function sentInThread(reply) {
  S.threadsOpen.add(keyOf(reply.room, reply.root));
}
