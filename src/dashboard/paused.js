/* argybargy dashboard: Rooms the loop guard paused: the bar under the header that says why, and the one resume button. */
import { changed, h, icon } from "./dom.js";
import { toast } from "./drawer.js";
import { api, errMsg, isAuthFail, lockOut, refresh } from "./live.js";
import { pausedRun } from "./model.js";
import { render } from "./sidebar.js";
import { S } from "./state.js";
import { $, isClosed, num } from "./util.js";

/** Why `room` is paused, as its header says it, or null when it is not. */
export function pausedWhy(room) {
  const run = isClosed(room) ? null : pausedRun(room);
  if (run == null) return null;
  return "Paused after " + run + " agent message" + (run === 1 ? "" : "s") + " without you — speak or resume";
}

/** The bar under the header of a paused room: the reason and the Resume button. */
export function renderPauseBar() {
  const bar = $("pauseBar");
  const room = S.view.room;
  const why = !S.locked && S.snap && room ? pausedWhy(room) : null;
  if (!changed("pause", JSON.stringify([room, why, S.resuming === room]))) return;
  const focused = bar.contains(document.activeElement);
  bar.replaceChildren();
  bar.hidden = !why;
  if (!why) return;
  const guard = num(S.snap.loop_guard);
  bar.append(icon("pause"),
    h("span", { class: "conv-pause__text" },
      h("strong", { "data-testid": "pause-reason" }, why + "."),
      h("span", { class: "conv-pause__sub" }, " Agents get 429 room_paused until you post here or resume" +
        (guard ? " (the loop guard allows " + guard + " in a row)." : "."))),
    h("button", {
      type: "button", class: "btn btn--primary btn--sm", id: "resumeBtn", "data-testid": "resume-btn",
      disabled: S.resuming === room, title: "Let the agents in #" + room + " post again without saying anything",
      on: { click: () => resumeRoom(room) },
    }, icon("refresh"), S.resuming === room ? "Resuming…" : "Resume"));
  if (focused) $("resumeBtn").focus({ preventScroll: true });
}

/** POST /admin/rooms/{room}/resume, then a fresh snapshot. */
export async function resumeRoom(room) {
  if (!room || S.resuming) return;
  S.resuming = room;
  renderPauseBar();
  let r = null;
  try { r = await api("/admin/rooms/" + encodeURIComponent(room) + "/resume", { method: "POST", body: {} }); } catch { r = null; }
  S.resuming = null;
  if (r && isAuthFail(r.status)) { lockOut(r.status); return; }
  if (!r || !r.ok) { toast(r ? errMsg(r) : "Could not reach the bridge.", "error"); renderPauseBar(); return; }
  const sum = S.snap && Array.isArray(S.snap.rooms) ? S.snap.rooms.find((x) => x && x.room === room) : null;
  if (sum) { sum.paused = false; sum.agent_run = 0; }
  toast("#" + room + " resumed — its agents may post again.", "ok");
  render();
  refresh();
}
