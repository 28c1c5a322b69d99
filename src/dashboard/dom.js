/* argybargy dashboard: DOM building (every server value goes in as text), the SVG icons, avatars and time stamps. */
import { refresh } from "./live.js";
import { fmtFull, fmtHM } from "./model.js";
import { S } from "./state.js";
import { $, SVGNS, brandAccent, glyphFor, hueFor, monogram } from "./util.js";

/* ------------------------------------------------------------------- DOM */
export function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  if (attrs && typeof attrs === "object" && !(attrs instanceof Node) && !Array.isArray(attrs)) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "on") for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
      else e.setAttribute(k, v === true ? "" : String(v));
    }
  } else if (attrs != null) kids.unshift(attrs);
  add(e, kids);
  return e;
}
export function add(parent, kids) {
  for (const k of kids) {
    if (k == null || k === false) continue;
    if (Array.isArray(k)) add(parent, k);
    else if (k instanceof Node) parent.append(k);
    else parent.append(document.createTextNode(String(k)));
  }
}
export function srOnly(text) { return h("span", { class: "sr-only" }, text); }

/* Icons: Phosphor-like 24px outline glyphs, drawn for this page. "F:" marks a filled sub-path. */
export const circ = (x, y, r) => `M${x - r} ${y}a${r} ${r} 0 1 0 ${2 * r} 0a${r} ${r} 0 1 0 ${-2 * r} 0`;
export const rrect = (x, y, w, hh, r) =>
  `M${x + r} ${y}h${w - 2 * r}a${r} ${r} 0 0 1 ${r} ${r}v${hh - 2 * r}a${r} ${r} 0 0 1 ${-r} ${r}` +
  `h${2 * r - w}a${r} ${r} 0 0 1 ${-r} ${-r}v${2 * r - hh}a${r} ${r} 0 0 1 ${r} ${-r}z`;
export function polar(r, deg) {
  const a = ((deg - 90) * Math.PI) / 180;
  return (12 + r * Math.cos(a)).toFixed(2) + " " + (12 + r * Math.sin(a)).toFixed(2);
}
export function ring(n, r, rot) {
  let d = "";
  for (let i = 0; i < n; i++) d += (i ? "L" : "M") + polar(r, rot + (360 / n) * i);
  return d + "Z";
}
export function gear() {
  let d = "";
  for (let i = 0; i < 8; i++) {
    const a = i * 45;
    for (const [r, o] of [[7.1, -15], [9.4, -8.5], [9.4, 8.5], [7.1, 15]]) d += (d ? "L" : "M") + polar(r, a + o);
  }
  return [d + "Z", circ(12, 12, 3)];
}
export function rays(n, r1, r2, rot, alt) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const a = rot + (360 / n) * i;
    out.push("M" + polar(r1, a) + "L" + polar(alt && i % 2 ? alt : r2, a));
  }
  return out.join("");
}
export const ICONS = {
  logo: ["F:M5 4.5h10a2.5 2.5 0 0 1 2.5 2.5v5.5a2.5 2.5 0 0 1-2.5 2.5H9.5L6 17.5V15H5a2.5 2.5 0 0 1-2.5-2.5V7A2.5 2.5 0 0 1 5 4.5z",
    "M19.5 9.5a2 2 0 0 1 2 2v4.5a2 2 0 0 1-2 2v2.5L16 18h-3.5"],
  hash: "M10 3.5 8 20.5M16 3.5l-2 17M4.5 8.5h16M3.5 15.5h16",
  lock: [rrect(4.5, 10.5, 15, 10, 2), "M8 10.5V7.5a4 4 0 0 1 8 0v3", "F:" + circ(12, 15.5, 1.3)],
  unlock: [rrect(4.5, 10.5, 15, 10, 2), "M8 10.5V7.5a4 4 0 0 1 7.7-1.5", "F:" + circ(12, 15.5, 1.3)],
  caret: "M6 9.5l6 6 6-6",
  caretRight: "M9.5 6l6 6-6 6",
  gear: gear(),
  half: [circ(12, 12, 8.5), "F:M12 3.5a8.5 8.5 0 0 1 0 17z"],
  sun: [circ(12, 12, 4), rays(8, 6.8, 9.2, 0)],
  moon: "M20 14.4A8.5 8.5 0 1 1 9.6 4a7 7 0 0 0 10.4 10.4z",
  users: [circ(9, 8.5, 3.5), "M2.5 19.5c1.3-3 3.7-4.5 6.5-4.5s5.2 1.5 6.5 4.5", "M15.2 5.3a3.5 3.5 0 0 1 0 6.4", "M17.6 15.1c1.8.6 3.1 2 3.9 4.4"],
  plane: ["M20.6 3.4 3.5 10.2a.6.6 0 0 0 0 1.1l6.9 2.3 2.3 6.9a.6.6 0 0 0 1.1 0z", "M10.4 13.6l4.3-4.3"],
  person: [circ(12, 8, 4), "M4.5 20.5c1.5-3.6 4.3-5.5 7.5-5.5s6 1.9 7.5 5.5"],
  copy: [rrect(8.5, 8.5, 12, 12, 2), "M15.5 8.5v-3a2 2 0 0 0-2-2h-8a2 2 0 0 0-2 2v8a2 2 0 0 0 2 2h3"],
  broadcast: ["F:" + circ(12, 12, 1.8), "M8.3 15.7a5.2 5.2 0 0 1 0-7.4M15.7 8.3a5.2 5.2 0 0 1 0 7.4M5.5 18.5a9.2 9.2 0 0 1 0-13M18.5 5.5a9.2 9.2 0 0 1 0 13"],
  key: [circ(8, 16, 4.5), "M11.2 12.8 20 4M15.5 8.5l2.5 2.5M18 6l2 2"],
  refresh: ["M19.5 9A8 8 0 0 0 5.2 7.8M4.5 15a8 8 0 0 0 14.3 1.2", "M19.8 4v5h-5M4.2 20v-5h5"],
  arrowLeft: "M19.5 12h-15M10.5 6l-6 6 6 6",
  arrowDown: "M12 4.5v15M6 13.5l6 6 6-6",
  at: [circ(12, 12, 3.6), "M15.6 12v1.4a2.6 2.6 0 0 0 5.2 0V12a8.8 8.8 0 1 0-3.5 7"],
  check: "M4.5 12.5l5 5 10-11",
  checks: "M2.5 12.5l4.5 4.5 9-10M11 16l1 1 9-10",
  pause: [rrect(6.5, 5, 3.5, 14, 1), rrect(14, 5, 3.5, 14, 1)],
  reply: ["M9.5 6.5 4.5 11.5l5 5", "M4.5 11.5h9a6 6 0 0 1 6 6v1"],
  menu: "M4 6.5h16M4 12h16M4 17.5h16",
  x: "M6 6l12 12M18 6 6 18",
  clock: [circ(12, 12, 8.5), "M12 7.5V12l3 2"],
  chat: [rrect(3.5, 4.5, 17, 12.5, 3), "M8 17v3.5l4-3.5"],
  globe: [circ(12, 12, 8.5), "M3.5 12h17M12 3.5c2.3 2.4 3.4 5.2 3.4 8.5s-1.1 6.1-3.4 8.5c-2.3-2.4-3.4-5.2-3.4-8.5s1.1-6.1 3.4-8.5z"],
  warn: ["M10.3 4.6 2.9 17.5A2 2 0 0 0 4.6 20.5h14.8a2 2 0 0 0 1.7-3L13.7 4.6a2 2 0 0 0-3.4 0z", "M12 9.5v4", "F:" + circ(12, 16.8, 1.1)],
  /* Vendor marks: simple original stylisations, not the vendors' artwork. */
  anthropic: rays(8, 1.6, 8.6, 22.5, 6.4),
  openai: [0, 60, 120].map((deg) => ({ d: rrect(9.4, 4, 5.2, 16, 2.6), t: `rotate(${deg} 12 12)` })),
  qwen: [ring(6, 7.6, 30), "M15 15l4.8 4.8", "F:" + circ(12, 12, 2.1)],
  gemini: "F:M12 2.5C12.7 7.6 16.4 11.3 21.5 12 16.4 12.7 12.7 16.4 12 21.5 11.3 16.4 7.6 12.7 2.5 12 7.6 11.3 11.3 7.6 12 2.5z",
  cursor: "F:M6.2 3.2 18.6 11.4a.6.6 0 0 1-.2 1.1l-5.2 1.3 3.1 5.4-2.7 1.5-3.1-5.4-3.8 3.6a.6.6 0 0 1-1-.4L5.3 3.7a.6.6 0 0 1 .9-.5z",
  opencode: ["M8.5 7 3.8 12l4.7 5M15.5 7l4.7 5-4.7 5", "M13.6 5.2l-3.2 13.6"],
};
export function icon(name, cls) {
  const svg = document.createElementNS(SVGNS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", "ic" + (cls ? " " + cls : ""));
  for (const part of [].concat(ICONS[name] || [])) {
    const o = typeof part === "string" ? { d: part } : part;
    const p = document.createElementNS(SVGNS, "path");
    let d = o.d;
    if (d.startsWith("F:")) { d = d.slice(2); p.setAttribute("class", "f"); }
    p.setAttribute("d", d);
    if (o.t) p.setAttribute("transform", o.t);
    svg.append(p);
  }
  return svg;
}

export function avatar(name, size, life) {
  const g = glyphFor(name);
  const a = h("span", { class: "sb-av" + (size ? " sb-av--" + size : ""), "aria-hidden": "true" });
  a.style.setProperty("--h", String(hueFor(name)));
  if (g && g.kind === "brand") {
    a.classList.add("sb-av--brand");
    a.style.setProperty("--brand", brandAccent(name));
    a.append(icon(g.brand, "agent-logo"));
  } else if (g && g.kind === "person") {
    a.classList.add("sb-av--person");
    a.append(icon("person", "agent-person"));
  } else {
    a.append(document.createTextNode(monogram(name)));
  }
  if (life) a.append(h("span", { class: "av-dot", "data-life": life }));
  return a;
}
export function timeEl(ts, cls) {
  const d = new Date(ts);
  const ok = !Number.isNaN(d.getTime());
  return h("time", { class: cls, datetime: ok ? d.toISOString() : null, title: ok ? fmtFull.format(d) : null },
    ok ? fmtHM.format(d) : "--:--");
}

/* Re-render a container, keeping keyboard focus on the element with the same data-key. */
export function rebuild(container, build) {
  const active = document.activeElement;
  const key = active && container.contains(active) ? active.getAttribute("data-key") : null;
  container.replaceChildren();
  build(container);
  if (key) {
    const again = [...container.querySelectorAll("[data-key]")].find((e) => e.getAttribute("data-key") === key);
    if (again) again.focus({ preventScroll: true });
  }
}
export function changed(name, sig) {
  if (S.sig[name] === sig) return false;
  S.sig[name] = sig;
  return true;
}
