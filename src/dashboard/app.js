/* argybargy dashboard: Entry module: phone navigation, theme, the 1 s tick, event wiring and boot. */
import { autosize, cancelReply, closeMenu, cycleExpects, editSender, openMenu, send } from "./composer.js";
import { h, icon } from "./dom.js";
import { closeDrawer, copyText, mint, openDrawer, regenerate, renderKeys, saveToken } from "./drawer.js";
import { renderHeader } from "./header.js";
import { loadSeen, lockOut, refresh, setConn, startFeed } from "./live.js";
import { closeReceipts } from "./receipts.js";
import { render, renderSidebar } from "./sidebar.js";
import { S, T, newTimeline } from "./state.js";
import { onScroll, scrollToBottom, updateJump } from "./timeline.js";
import { $, LS, NAME_RE, SAFETY_MS, agentState, brandAccent, dedupe, elapsedSince, fmtWait, glyphFor, hueFor, isClosed, lastSeen, lsGet, lsSet, monogram, partitionRooms, roomStatus, waitingRows } from "./util.js";

export function openNav() {
  S.navOpen = true;
  const nav = $("navWrap");
  nav.classList.remove("-translate-x-full");
  nav.classList.add("translate-x-0");
  $("navScrim").hidden = false;
  $("navOpen").setAttribute("aria-expanded", "true");
  const cur = nav.querySelector('[aria-current="true"]') || $("navClose");
  if (cur && window.matchMedia("(max-width: 640px)").matches) cur.focus({ preventScroll: true });
}
export function closeNav() {
  const nav = $("navWrap");
  const was = S.navOpen;
  S.navOpen = false;
  nav.classList.remove("translate-x-0");
  nav.classList.add("-translate-x-full");
  $("navScrim").hidden = true;
  $("navOpen").setAttribute("aria-expanded", "false");
  if (was && nav.contains(document.activeElement) && window.matchMedia("(max-width: 640px)").matches) $("navOpen").focus({ preventScroll: true });
}

function applyTheme(t) {
  S.theme = t === "light" || t === "dark" ? t : "auto";
  document.documentElement.setAttribute("data-theme", S.theme);
  for (const b of document.querySelectorAll("[data-theme-choice]")) {
    b.setAttribute("aria-pressed", b.getAttribute("data-theme-choice") === S.theme ? "true" : "false");
  }
}

export function runTimers(list) { for (const fn of list) fn(); }
function tick() {
  if (S.snap) {
    renderSidebar();
    renderHeader();
    runTimers(T.tl);
    if (S.drawerOpen) renderKeys();
  }
  if (S.token && !S.locked && Date.now() - S.lastFetchAttempt > SAFETY_MS) refresh();
}

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
    else if (!closeReceipts() && document.activeElement === $("composerInput")) cancelReply();
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
