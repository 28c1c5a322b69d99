/* argybargy dashboard: The composer: recipient menu, expects-reply cycling, sender, sending. */
import { avatar, h, icon } from "./dom.js";
import { api, errMsg, isAuthFail, lockOut, refresh } from "./live.js";
import { agentModel, pausedRun } from "./model.js";
import { S } from "./state.js";
import { sentInThread } from "./threads.js";
import { $, isClosed } from "./util.js";

export function composerTo() { return S.view.agent || S.composer.to; }
export function renderComposer() {
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
  const paused = room && S.snap && !closed && pausedRun(room) != null;
  note.hidden = !closed && !paused;
  if (closed) note.replaceChildren(icon("lock"), h("span", null, "#" + room + " is closed. You can still post; its agents have been told to leave."));
  else if (paused) note.replaceChildren(icon("pause"), h("span", null, "Agents in #" + room + " are on hold. What you send here resumes the room."));
  renderReplyTo(enabled);
}

/** The "replying in thread" line above the input, with a button to cancel it. */
function renderReplyTo(enabled) {
  const bar = $("composerReply");
  const r = S.composer.replyTo;
  if (!r || r.room !== S.view.room || !enabled) { bar.hidden = true; bar.replaceChildren(); return; }
  bar.hidden = false;
  bar.setAttribute("data-reply-to", String(r.seq));
  bar.replaceChildren(icon("reply"),
    h("span", { class: "composer__reply-text" }, "Replying in thread to ", h("strong", null, r.from), ": ", h("span", { class: "composer__quote" }, r.text)),
    h("button", { type: "button", class: "icon-btn icon-btn--sm", id: "replyCancel", "aria-label": "Cancel the reply in thread", title: "Cancel reply (Esc)",
      on: { click: () => { cancelReply(); $("composerInput").focus(); } } }, icon("x")));
}
/** Drops the pending reply in thread; true when there was one. */
export function cancelReply() {
  if (!S.composer.replyTo) return false;
  S.composer.replyTo = null;
  renderComposer();
  return true;
}

export function cycleExpects() {
  const to = composerTo();
  const c = S.composer.expects;
  S.composer.expects = c == null ? "anyone" : c === "anyone" && to !== "all" ? to : null;
  renderComposer();
}

export function openMenu() {
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
export function closeMenu() {
  const menu = $("toMenu");
  if (!S.menuOpen) return;
  menu.hidden = true;
  S.menuOpen = false;
  $("toPill").setAttribute("aria-expanded", "false");
}
export function pickTo(to) {
  if (S.composer.to !== to && S.composer.expects !== "anyone") S.composer.expects = null;
  S.composer.to = to;
  closeMenu();
  renderComposer();
  $("composerInput").focus();
}

export function editSender() {
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

export async function send() {
  const input = $("composerInput"), err = $("composerError");
  const room = S.view.room;
  const text = input.value;
  if (!room || S.locked || S.composer.sending || !text.trim()) return;
  S.composer.sending = true;
  renderComposer();
  const reply = S.composer.replyTo && S.composer.replyTo.room === room ? S.composer.replyTo : null;
  const body = { room, sender: S.composer.sender, to: composerTo(), text, expects_reply: S.composer.expects ?? null };
  if (reply) body.reply_to = reply.seq;
  let r = null;
  try { r = await api("/admin/say", { body }); } catch { r = null; }
  S.composer.sending = false;
  if (r && r.ok) {
    if (input.value === text) input.value = "";
    autosize();
    S.composer.expects = null;
    if (reply) { sentInThread(reply); if (S.composer.replyTo === reply) S.composer.replyTo = null; }
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
export function autosize() {
  const input = $("composerInput");
  input.style.height = "auto";
  input.style.height = Math.min(input.scrollHeight, 180) + "px";
}
