// The operator dashboard (SPEC §9) in a real headless Chromium against a real server
// process: sign-in, live updates, the composer, keys, room lifecycle, the inbox, unread
// marks, deep links, themes, the phone drawer, XSS and the same-origin promise.
// Chromium is required: without /usr/bin/chromium (or $CHROMIUM) every test fails.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import type { Page } from "playwright-core";
import { CHROMIUM, dashboardHarness } from "./dashboard-harness.ts";

const h = dashboardHarness();
const { ready, admin, invite, open } = h;

/** This file's agent calls: a raw GET, a post of `text`, a long-poll. */
function asAgent(code: string) {
  const agent = h.asAgent(code);
  return {
    get: (path: string) => fetch(h.base + path, { headers: { Authorization: `Bearer ${code}` } }),
    post: (text: string, to = "all", expects_reply?: string) => agent.post({ to, text, expects_reply }),
    /** A long-poll; resolves with the parsed body. */
    poll: (since: number, wait: number) => agent.poll(since, wait),
  };
}
const apiCalls = (reqs: string[]) => reqs.filter((u) => u.startsWith(h.base + "/admin/"));
const title = (p: Page) => p.locator('[data-testid="channel-title"]').innerText();
async function waitForText(p: Page, text: string, timeout = 10_000): Promise<void> {
  await p.waitForFunction((t) => (document.querySelector(".conv-timeline") as HTMLElement | null)?.innerText.includes(t) ?? false, text, { timeout });
}

describe("dashboard in Chromium", () => {
  test("Chromium is installed and the server started", () => {
    expect(existsSync(CHROMIUM)).toBe(true);
    ready();
    expect(h.base).toStartWith("http://");
  });

  test("without a stored token: not-signed-in panel and no API calls at all", async () => {
    const o = await open("/dashboard", { token: null });
    await o.page.waitForSelector(".conv-locked");
    expect(await o.page.locator(".conv-locked").innerText()).toContain("admin token");
    expect(await o.page.getAttribute("#connDot", "class")).toContain("idle");
    await o.page.waitForTimeout(1500);
    expect(apiCalls(o.requests)).toEqual([]);
    expect(await o.page.locator("[data-room]").count()).toBe(0);
    await o.close();
  }, 20_000);

  test("a bad token shows the not-signed-in panel, stops polling, and a good token pasted in the drawer signs in", async () => {
    await invite("signin-agent", "signin-room");
    const o = await open("/dashboard", { token: "definitely-not-the-token", expectRefusal: true });
    await o.page.waitForSelector("#connDot.error");
    const panel = o.page.locator(".conv-locked");
    expect(await panel.innerText()).toContain("401");
    expect(await o.page.locator("[data-room]").count()).toBe(0);
    expect(await o.page.locator("[data-agent]").count()).toBe(0);
    // Locked out: no further polling (the re-check is at most every 30 s).
    const before = apiCalls(o.requests).length;
    await o.page.waitForTimeout(3000);
    expect(apiCalls(o.requests).length).toBe(before);

    await o.page.click("#pasteToken");
    expect(await o.page.evaluate(() => document.activeElement?.id)).toBe("adToken");
    await o.page.fill("#adToken", h.token);
    await o.page.click("#adTokenSave");
    await o.page.waitForSelector('#adTokenStatus[data-state="ok"]');
    expect(await o.page.evaluate(() => localStorage.getItem("cc_admin"))).toBe(h.token);
    await o.page.keyboard.press("Escape");
    await o.page.waitForSelector('[data-room="signin-room"]');
    expect(await o.page.getAttribute("#connDot", "class")).toContain("live");
    await o.close();
  }, 30_000);

  test("a message posted over the agent API appears live within 1.5 s", async () => {
    const alice = asAgent(await invite("alice", "live-room"));
    await alice.post("first words");
    const o = await open("/dashboard?room=live-room");
    await waitForText(o.page, "first words");
    await o.page.waitForTimeout(500); // let the change feed park
    const text = `live ${Date.now()}`;
    const t0 = performance.now();
    await alice.post(text);
    await waitForText(o.page, text, 10_000);
    const ms = performance.now() - t0;
    console.log(`[dashboard] agent post visible after ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(1500);
    expect(o.errors).toEqual([]);
    await o.close();
  }, 30_000);

  test("the composer reaches a long-polling agent; Enter sends and Shift+Enter makes a new line", async () => {
    const bob = asAgent(await invite("bob", "compose-room"));
    await bob.get("/whoami");
    const o = await open("/dashboard?room=compose-room");
    await o.page.waitForSelector(".conv-empty");
    const parked = bob.poll(0, 10);
    await o.page.waitForTimeout(300);
    await o.page.click("#composerInput");
    await o.page.keyboard.type("hello bob");
    await o.page.keyboard.press("Shift+Enter");
    await o.page.keyboard.type("second line");
    expect(await o.page.inputValue("#composerInput")).toBe("hello bob\nsecond line");
    await o.page.keyboard.press("Enter");
    const got = await parked;
    expect(got.messages.map((m: any) => [m.from, m.text])).toEqual([["operator", "hello bob\nsecond line"]]);
    await o.page.waitForFunction(() => (document.getElementById("composerInput") as HTMLTextAreaElement).value === "");
    await waitForText(o.page, "second line");
    expect(o.errors).toEqual([]);
    await o.close();
  }, 30_000);

  test("the composer pills: sender, recipient menu and the expects cycle reach /admin/say", async () => {
    const carl = asAgent(await invite("carl", "pill-room"));
    await carl.get("/whoami");
    const o = await open("/dashboard?room=pill-room");
    await o.page.waitForSelector('[data-agent="carl"]');
    expect(await o.page.innerText("#expectsPill")).toBe("expects · none");
    await o.page.click("#asPill");
    await o.page.fill("#asInput", "night-shift");
    await o.page.keyboard.press("Enter");
    expect(await o.page.innerText("#asPill")).toBe("as night-shift");
    await o.page.click("#toPill");
    await o.page.click('[data-to="carl"]');
    expect(await o.page.innerText("#toPill")).toBe("→ carl");
    expect(await o.page.innerText("#expectsPill")).toBe("expects · carl");
    await o.page.click("#expectsPill");
    expect(await o.page.innerText("#expectsPill")).toBe("expects · anyone");
    const parked = carl.poll(0, 10);
    await o.page.fill("#composerInput", "pick this up?");
    await o.page.click("#sendBtn");
    const got = await parked;
    const m = got.messages[0];
    expect([m.from, m.to, m.expects_reply, m.text]).toEqual(["night-shift", "carl", "anyone", "pick this up?"]);
    // A sent message clears the explicit choice: the pill falls back to the default again.
    await o.page.waitForFunction(() => document.getElementById("expectsPill")?.textContent === "expects · carl");
    expect(await o.page.getAttribute("#expectsPill", "class")).not.toContain("conv-pill--armed");
    await o.close();
  }, 30_000);

  test("a key minted in the drawer works, and revoking it (two clicks) locks it out", async () => {
    const o = await open("/dashboard?room=keys-room");
    await o.page.click("#openDrawer");
    await o.page.waitForSelector("#adRoot:not([hidden])");
    await o.page.fill("#adName", "minted-agent");
    await o.page.fill("#adCap", "made in the browser");
    await o.page.selectOption("#adExpiry", "1d");
    await o.page.click("#adMint");
    await o.page.waitForSelector(".ad-resultbox");
    const code = (await o.page.innerText("#adMintCode")).trim();
    expect(code).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const who = await fetch(h.base + "/whoami", { headers: { Authorization: `Bearer ${code}` } });
    expect(who.status).toBe(200);
    expect(await who.json()).toEqual({ name: "minted-agent", room: "keys-room", capabilities: "made in the browser" });

    const revokeBtn = o.page.locator('[data-revoke="minted-agent"][data-revoke-room="keys-room"]');
    await revokeBtn.waitFor();
    await revokeBtn.click();
    expect(await revokeBtn.innerText()).toContain("Sure?");
    await revokeBtn.click();
    await o.page.waitForSelector('[data-revoke="minted-agent"]', { state: "detached" });
    const after = await fetch(h.base + "/whoami", { headers: { Authorization: `Bearer ${code}` } });
    expect(after.status).toBe(401);
    expect(o.errors).toEqual([]);
    await o.close();
  }, 30_000);

  test("closing a room takes two clicks and tells a parked agent to exit", async () => {
    const carol = asAgent(await invite("carol", "closing-room"));
    await carol.post("standing by");
    const o = await open("/dashboard?room=closing-room");
    await waitForText(o.page, "standing by");
    let settled = false;
    const parked = carol.poll(1, 10).then((b) => { settled = true; return b; });
    const btn = o.page.locator('[data-testid="room-close-btn"]');
    expect(await btn.getAttribute("data-action")).toBe("close");
    await btn.click();
    expect(await btn.innerText()).toContain("Confirm close");
    await o.page.waitForTimeout(400);
    expect(settled).toBe(false);
    await btn.click();
    const body = await parked;
    expect(body.should_exit).toBe(true);
    expect(body.exit_reason).toBe("room_closed");
    await o.page.waitForSelector('[data-testid="room-status"][data-status="closed"]');
    expect(await btn.innerText()).toContain("Reopen room");
    await btn.click();
    await o.page.waitForSelector('[data-testid="room-status"][data-status="open"]');
    expect((await admin("/admin/state")).json.room_status["closing-room"].status).toBe("open");
    await o.close();
  }, 30_000);

  test("an unanswered question is in the inbox, opens its room with the composer focused, and leaves when answered", async () => {
    const dave = asAgent(await invite("dave", "inbox-room"));
    await invite("erin", "inbox-room");
    const o = await open("/dashboard?room=live-room");
    const row = o.page.locator('[data-testid="waiting-row"][data-goto-room="inbox-room"]');
    await dave.post("ship on friday?", "all", "anyone");
    await row.waitFor({ timeout: 10_000 });
    expect(await row.locator('[data-testid="waiting-text"]').innerText()).toBe("ship on friday?");
    expect(await row.innerText()).toContain("#inbox-room");
    expect(await row.getAttribute("data-loud")).toBe("false");
    expect(await o.page.innerText('[data-testid="waiting-count"]')).toMatch(/^· \d+$/);
    const timer1 = await row.locator('[data-testid="waiting-timer"]').innerText();
    await o.page.waitForTimeout(2100);
    expect(await row.locator('[data-testid="waiting-timer"]').innerText()).not.toBe(timer1);

    await row.click();
    await o.page.waitForFunction(() => document.querySelector('[data-testid="channel-title"]')?.textContent === "inbox-room");
    expect(await o.page.evaluate(() => document.activeElement?.id)).toBe("composerInput");
    expect(o.page.url()).toContain("room=inbox-room");
    await o.page.keyboard.type("yes, friday");
    await o.page.keyboard.press("Enter");
    await row.waitFor({ state: "detached", timeout: 10_000 });
    expect(o.errors).toEqual([]);
    await o.close();
  }, 30_000);

  test("unread marks: another room's new message shows a dot until it is opened, and the mark persists", async () => {
    const fay = asAgent(await invite("fay", "unread-b"));
    await fay.post("hello from b");
    const gus = asAgent(await invite("gus", "unread-a"));
    await gus.post("hello from a");
    const o = await open("/dashboard?room=unread-b");
    await waitForText(o.page, "hello from b");
    await o.page.click('[data-room="unread-a"]');
    await waitForText(o.page, "hello from a");
    const dotB = o.page.locator('[data-room="unread-b"] .unread-dot');
    expect(await dotB.count()).toBe(0);
    await fay.post("news in b");
    await dotB.waitFor({ timeout: 10_000 });
    expect(await o.page.locator('[data-room="unread-a"] .unread-dot').count()).toBe(0);
    await o.page.click('[data-room="unread-b"]');
    await waitForText(o.page, "news in b");
    expect(await dotB.count()).toBe(0);
    const seen = JSON.parse((await o.page.evaluate(() => localStorage.getItem("cc_seen"))) ?? "{}");
    expect(seen["unread-b"]).toBe(2);
    await o.page.reload();
    await o.page.waitForSelector('[data-room="unread-a"]');
    await waitForText(o.page, "news in b");
    expect(await o.page.locator('[data-room="unread-b"] .unread-dot').count()).toBe(0);
    // A mark above the room's last seq (database recreated) is reset.
    await o.page.evaluate(() => localStorage.setItem("cc_seen", JSON.stringify({ "unread-a": 99 })));
    await o.page.reload();
    await o.page.waitForSelector('[data-room="unread-a"] .unread-dot');
    expect(JSON.parse((await o.page.evaluate(() => localStorage.getItem("cc_seen"))) ?? "{}")["unread-a"]).toBe(0);
    await o.close();
  }, 40_000);

  test("a deep link to a room with no data opens it empty and keeps it", async () => {
    const o = await open("/dashboard?room=ghost-room");
    await o.page.waitForSelector(".conv-empty");
    expect(await o.page.innerText(".conv-empty")).toContain("Nothing in #ghost-room yet");
    expect(await title(o.page)).toBe("ghost-room");
    expect(await o.page.getAttribute('[data-room="ghost-room"]', "aria-current")).toBe("true");
    await o.page.waitForTimeout(2000);
    expect(await title(o.page)).toBe("ghost-room");
    expect(new URL(o.page.url()).searchParams.get("room")).toBe("ghost-room");
    await o.page.click('[data-room="live-room"]');
    await waitForText(o.page, "first words");
    expect(new URL(o.page.url()).searchParams.get("room")).toBe("live-room");
    await o.close();
  }, 30_000);

  test("the theme switch applies and survives a reload", async () => {
    const o = await open("/dashboard?room=live-room");
    await o.page.waitForSelector(".conv-msg");
    const bg = () => o.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await o.page.click("#theme-light");
    const light = await bg();
    await o.page.click("#theme-dark");
    expect(await o.page.getAttribute("html", "data-theme")).toBe("dark");
    expect(await o.page.evaluate(() => localStorage.getItem("cc_theme"))).toBe("dark");
    expect(await bg()).not.toBe(light);
    await o.page.reload();
    await o.page.waitForSelector(".conv-msg");
    expect(await o.page.getAttribute("html", "data-theme")).toBe("dark");
    expect(await o.page.getAttribute("#theme-dark", "aria-pressed")).toBe("true");
    await o.close();
  }, 30_000);

  test("on a 390×844 phone the sidebar is a drawer with a Menu button and a scrim", async () => {
    const o = await open("/dashboard?room=live-room", { width: 390, height: 844 });
    await o.page.waitForSelector(".conv-msg");
    expect(await o.page.isVisible('[data-room="live-room"]')).toBe(false);
    expect(await o.page.getAttribute("#navWrap", "class")).toContain("-translate-x-full");
    await o.page.click("#navOpen");
    await o.page.waitForSelector('[data-room="compose-room"]', { state: "visible" });
    expect(await o.page.isVisible("#navScrim")).toBe(true);
    expect(await o.page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1)).toBe(true);
    await o.page.click('[data-room="compose-room"]');
    await o.page.waitForSelector("#navScrim", { state: "hidden" });
    expect(await title(o.page)).toBe("compose-room");
    await o.page.click("#navOpen");
    await o.page.click("#navScrim", { position: { x: 370, y: 400 } });
    await o.page.waitForSelector('[data-room="compose-room"]', { state: "hidden" });
    expect(o.errors).toEqual([]);
    await o.close();
  }, 30_000);

  test("markup in message text, capabilities and names renders as text and runs nothing", async () => {
    const evil = `<img src=x onerror="window.__xss=1"></script><script>window.__xss=2</script><svg onload="window.__xss=3">`;
    for (const bad of [{ name: evil, room: "xss-room" }, { name: "ok-name", room: evil }]) {
      const r = await admin("/admin/invite", bad);
      expect(r.status).toBe(422);
    }
    const mallory = asAgent(await invite("mallory", "xss-room", evil));
    await mallory.get("/whoami");
    await mallory.post(evil);
    const o = await open("/dashboard?room=xss-room");
    await waitForText(o.page, "onerror");
    await o.page.click("#openDrawer");
    await o.page.waitForSelector(".ad-kcap");
    await o.page.waitForTimeout(500);
    expect(await o.page.evaluate(() => (window as any).__xss)).toBeUndefined();
    expect(await o.page.locator("#app img, #app script, .conv-timeline svg[onload]").count()).toBe(0);
    expect(await o.page.innerText(".conv-timeline")).toContain(evil);
    expect(await o.page.innerText('[data-agent="mallory"] [data-testid="agent-caps"]')).toBe(evil);
    expect(await o.page.locator(".ad-kcap", { hasText: "onerror" }).first().innerText()).toBe(evil);
    expect(o.errors).toEqual([]);
    await o.close();
  }, 30_000);

  test("first paint of a 500-message room, scrollback by 60, and the page's transfer size", async () => {
    for (let i = 1; i <= 500; i++) {
      const r = await admin("/admin/say", { room: "big-room", text: `message number ${i}`, sender: i % 2 ? "operator" : "night-shift" });
      if (r.status !== 200) throw new Error(`seed ${i} → ${r.status}`);
    }
    const o = await open("/dashboard?room=big-room");
    const paint = await o.page.waitForFunction(
      () => (document.querySelector('.conv-msg[data-seq="500"]') ? performance.now() : 0), undefined, { timeout: 15_000 });
    const paintMs = (await paint.jsonValue()) as number;
    expect(await o.page.locator(".conv-msg").count()).toBe(60);
    await o.page.waitForTimeout(300);
    const transfer = await o.page.evaluate(() => {
      const nav = performance.getEntriesByType("navigation") as PerformanceNavigationTiming[];
      const res = performance.getEntriesByType("resource") as PerformanceResourceTiming[];
      const staticBytes = [...nav, ...res.filter((r) => r.name.includes("/dashboard/assets/"))].reduce((s, e) => s + e.decodedBodySize, 0);
      const allBytes = [...nav, ...res].reduce((s, e) => s + e.decodedBodySize, 0);
      return { staticBytes, allBytes };
    });
    console.log(`[dashboard] first paint of a 500-message room: ${paintMs.toFixed(0)} ms after navigation start`);
    console.log(`[dashboard] transfer: ${(transfer.staticBytes / 1024).toFixed(1)} KB html+js+css, ${(transfer.allBytes / 1024).toFixed(1)} KB with the first API responses`);
    expect(transfer.staticBytes).toBeGreaterThan(0);
    expect(transfer.staticBytes).toBeLessThan(150 * 1024);
    expect(paintMs).toBeLessThan(10_000);

    // Scrollback: reaching the top loads the previous 60 and keeps the reader's place.
    const anchor = o.page.locator('.conv-msg[data-seq="441"]');
    await o.page.evaluate(() => { document.getElementById("timelineWrap")!.scrollTop = 0; });
    await o.page.waitForSelector('.conv-msg[data-seq="381"]', { state: "attached" });
    expect(await o.page.locator(".conv-msg").count()).toBe(120);
    const box = await anchor.boundingBox();
    expect(box).not.toBeNull();
    expect(box!.y).toBeGreaterThan(0);
    expect(box!.y).toBeLessThan(820);
    expect(o.errors).toEqual([]);
    await o.close();
  }, 60_000);

  test("no request ever left the origin and no page logged a console error", () => {
    ready();
    expect(h.offOrigin).toEqual([]);
    expect(h.consoleErrors).toEqual([]);
  });
});
