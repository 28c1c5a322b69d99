/* argybargy dashboard: The admin drawer: codes (mint, revoke), the token, regeneration; copying and toasts. */
import { closeNav, runTimers } from "./app.js";
import { changed, h, icon, rebuild, srOnly } from "./dom.js";
import { api, errMsg, fetchState, isAuthFail, lockOut, refresh, startFeed, tokenShapeOk } from "./live.js";
import { allRooms, fmtShort, serverNow } from "./model.js";
import { S, T } from "./state.js";
import { $, LS, NAME_RE, arr, isClosed, lastSeen, lsSet, num, own, str } from "./util.js";

export function openDrawer(focusId) {
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
export function closeDrawer() {
  if (!S.drawerOpen) return;
  S.drawerOpen = false;
  const root = $("adRoot");
  root.classList.remove("open");
  root.hidden = true;
  $("adScrim").hidden = true;
  $("openDrawer").setAttribute("aria-expanded", "false");
  $("openDrawer").focus();
}

export function renderDrawer() {
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

export function renderRoomPicker() {
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

export function renderKeys() {
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

export function revokeClick(name, room) {
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
export async function revoke(name, room) {
  const r = await api("/admin/revoke", { body: { target: name, room } }).catch(() => null);
  if (!r) { toast("Could not reach the bridge.", "error"); return; }
  if (isAuthFail(r.status)) { lockOut(r.status); return; }
  if (!r.ok) { toast(errMsg(r), "error"); return; }
  const n = r.data && typeof r.data.revoked === "number" ? r.data.revoked : 0;
  toast(n ? "Revoked the key for " + name + " in #" + room + "." : "Nothing matched " + name + " in #" + room + ".", n ? "ok" : "error");
  refresh();
}

export async function mint() {
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

export async function saveToken() {
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

export async function regenerate() {
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

export async function copyText(text, btn) {
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

export let toastTimer = 0;
export function toast(msg, kind) {
  const t = $("toast");
  t.replaceChildren(icon(kind === "error" ? "warn" : "check"), h("span", null, msg));
  t.setAttribute("data-kind", kind || "ok");
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 3800);
}
