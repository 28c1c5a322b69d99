// Issue 10's dashboard parts in a real headless Chromium against a real server process:
// receipt ticks that move as agents poll and ack (names on hover, tap and keyboard), a claim
// lease counting down and lapsing into "claim expired (was: bob)", threads folded under their
// root with reply in thread, and a room the loop guard paused: on top, says why, one resume.
import { describe, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { dashboardHarness } from "./dashboard-harness.ts";

const LOOP_GUARD = 4;
const h = dashboardHarness({ ARGYBARGY_RATE_MAX: "0", ARGYBARGY_LOOP_GUARD: String(LOOP_GUARD) });

const row = (p: Page, seq: number) => p.locator(`.conv-timeline .conv-msg[data-seq="${seq}"]`).first();
const ticks = (p: Page, seq: number) => row(p, seq).locator('[data-testid="receipts"]');
/** Waits until the ticks of `seq` show `delivered` and `read` (the change feed carries them; no reload). */
async function ticksAt(p: Page, seq: number, delivered: number, read: number): Promise<void> {
  await p.waitForSelector(`.conv-msg[data-seq="${seq}"] [data-testid="receipts"][data-delivered="${delivered}"][data-read="${read}"]`, { timeout: 15_000 });
}

describe("dashboard: receipts, leases, threads, the loop guard", () => {
  test("receipt ticks move as agents poll and ack; names on hover, on tap and from the keyboard", async () => {
    const alice = h.asAgent(await h.invite("alice", "rc-room"));
    const bob = h.asAgent(await h.invite("bob", "rc-room"));
    const carol = h.asAgent(await h.invite("carol", "rc-room"));
    await h.invite("dave", "rc-room"); // holds a code, never calls in
    const seq = await alice.post({ text: "status, anyone?" });
    const o = await h.open("/dashboard?room=rc-room");
    await ticksAt(o.page, seq, 0, 0);
    expect(await ticks(o.page, seq).getAttribute("data-recipients")).toBe("3");
    expect(await ticks(o.page, seq).innerText()).toContain("0/3");

    expect((await bob.poll(0)).messages.map((m: any) => m.seq)).toEqual([seq]);
    await ticksAt(o.page, seq, 1, 0);
    await carol.poll(0);
    await ticksAt(o.page, seq, 2, 0);
    expect((await bob.ack(seq)).status).toBe(200);
    await ticksAt(o.page, seq, 2, 1);
    const text = (await ticks(o.page, seq).innerText()).replace(/\s+/g, " ");
    expect(text).toContain("2/3");
    expect(text).toContain("1/3");

    // Hover names them (title), without opening anything.
    await ticks(o.page, seq).hover();
    expect(await ticks(o.page, seq).getAttribute("title")).toBe("Delivered to bob, carol · read by bob · 1 of 3 not delivered yet");
    expect(await o.page.locator('[data-testid="receipt-list"]').count()).toBe(0);

    // Click opens the list of every recipient (dave included, fetched from the receipts endpoint).
    await ticks(o.page, seq).click();
    await o.page.waitForSelector('[data-testid="receipt-list"] [data-name="dave"]');
    const states = await o.page.$$eval('[data-testid="receipt-list"] li', (lis) => lis.map((li) => [li.getAttribute("data-name"), li.getAttribute("data-state")]));
    expect(states).toEqual([["bob", "read"], ["carol", "delivered"], ["dave", "pending"]]);
    expect(await ticks(o.page, seq).getAttribute("aria-expanded")).toBe("true");
    expect(await o.page.locator('[data-testid="receipt-list"] [data-name="dave"]').innerText()).toContain("not delivered yet");

    // Escape closes it and keeps focus on the ticks; Enter opens it again.
    await o.page.keyboard.press("Escape");
    await o.page.waitForSelector('[data-testid="receipt-list"]', { state: "detached" });
    expect(await o.page.evaluate(() => document.activeElement?.getAttribute("data-testid"))).toBe("receipts");
    await o.page.keyboard.press("Enter");
    await o.page.waitForSelector('[data-testid="receipt-list"] [data-name="bob"]');
    // A new read while the list is open updates it in place.
    expect((await carol.ack(seq)).status).toBe(200);
    await o.page.waitForSelector('[data-testid="receipt-list"] [data-name="carol"][data-state="read"]', { timeout: 15_000 });
    expect(o.errors).toEqual([]);
    await o.close();

    // On a phone there is no hover: a tap reveals the names.
    const phone = await h.open("/dashboard?room=rc-room", { width: 390, height: 844, mobile: true });
    await ticksAt(phone.page, seq, 2, 2);
    await ticks(phone.page, seq).tap();
    await phone.page.waitForSelector('[data-testid="receipt-list"] [data-name="dave"]');
    expect(await phone.page.locator('[data-testid="receipt-list"]').isVisible()).toBe(true);
    expect(phone.errors).toEqual([]);
    await phone.close();
  }, 60_000);

  test("a claim's lease counts down on the 1 s tick, lapses, and the question is back with \"claim expired (was: bob)\"", async () => {
    const alice = h.asAgent(await h.invite("alice", "lease-room"));
    const bob = h.asAgent(await h.invite("bob", "lease-room"));
    const seq = await alice.post({ text: "who takes the deploy?", expects_reply: "anyone" });
    await bob.poll(0);
    const o = await h.open("/dashboard?room=lease-room");
    await row(o.page, seq).waitFor();
    // The page is up before the lease starts, so a slow page load cannot eat the 10 s.
    const claim = await bob.claim(seq, 10); // the shortest lease the server allows
    expect(claim.status).toBe(200);
    expect(typeof claim.json.claim_expires_at).toBe("string");
    const badge = row(o.page, seq).locator('[data-badge="claimed"]');
    await badge.waitFor({ timeout: 8000 });
    const timer = badge.locator('[data-testid="lease-timer"]');
    const first = await timer.innerText();
    expect(first).toMatch(/^0:(0\d|10) left$/);
    // The header's turn chip counts the same lease.
    expect(await o.page.locator('[data-turn="claimed"] [data-testid="lease-timer"]').innerText()).toMatch(/^0:\d\d left$|^lease expired$/);
    const secs = (t: string) => Number(t.match(/^0:(\d\d)/)?.[1] ?? -1);
    await o.page.waitForFunction((before) => {
      const t = document.querySelector('[data-badge="claimed"] [data-testid="lease-timer"]')?.textContent ?? "";
      const m = t.match(/^0:(\d\d) left$/);
      return !m || Number(m[1]) < before;
    }, secs(first), { timeout: 5000 });

    // The server's sweep reopens it; the change feed brings the note to the message and the inbox.
    const note = row(o.page, seq).locator('[data-testid="claim-note"]');
    await note.waitFor({ timeout: 30_000 });
    expect(await note.innerText()).toBe("claim expired (was: bob)");
    expect(await row(o.page, seq).locator('[data-badge="claimed"]').count()).toBe(0);
    expect(await row(o.page, seq).locator('[data-badge="expects"]').count()).toBe(1);
    const inbox = o.page.locator('[data-testid="waiting-row"][data-goto-room="lease-room"]');
    await inbox.locator('[data-testid="waiting-note"]').waitFor();
    expect(await inbox.locator('[data-testid="waiting-note"]').innerText()).toBe("claim expired (was: bob)");

    // The countdown's words, at both ends, from the page's own module.
    const words = await o.page.evaluate(async () => {
      const path = "/dashboard/assets/leases.js"; // a variable, so the typecheck leaves the browser's URL alone
      const { leaseText } = await import(path);
      const at = (ms: number) => ({ claimed_by: "bob", claim_expires_at: new Date(Date.now() + ms).toISOString() });
      return [leaseText(at(90_500)), leaseText(at(-1000)), leaseText({ claimed_by: "bob", claim_expires_at: null })];
    });
    expect(words).toEqual(["1:31 left", "lease expired", ""]);
    expect(o.errors).toEqual([]);
    await o.close();
  }, 60_000);

  test("threads: replies fold under their root with a count, expand and collapse, and the operator replies in thread", async () => {
    const alice = h.asAgent(await h.invite("alice", "th-room"));
    const bob = h.asAgent(await h.invite("bob", "th-room"));
    const carol = h.asAgent(await h.invite("carol", "th-room"));
    const root = await alice.post({ text: "plan for the release?" });
    const r1 = await bob.post({ text: "step one: freeze", reply_to: root });
    const r2 = await carol.post({ text: '<img src=x onerror="window.__pwned=1">step two', reply_to: r1 });
    const other = await alice.post({ text: "unrelated note" });

    const o = await h.open("/dashboard?room=th-room");
    await row(o.page, other).waitFor();
    const toggle = o.page.locator(`.thread[data-thread="${root}"] [data-testid="thread-toggle"]`);
    expect(await toggle.innerText()).toContain("2 replies");
    expect(await toggle.getAttribute("aria-expanded")).toBe("false");
    expect(await o.page.locator(`.conv-msg[data-seq="${r1}"], .conv-msg[data-seq="${r2}"]`).count()).toBe(0);

    await toggle.click();
    await row(o.page, r2).waitFor();
    expect(await toggle.getAttribute("aria-expanded")).toBe("true");
    const list = o.page.locator(`.thread[data-thread="${root}"] [data-testid="thread-list"]`);
    expect(await list.locator(".conv-msg").evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-seq"))))).toEqual([r1, r2]);
    expect(await row(o.page, r2).innerText()).toContain('<img src=x onerror="window.__pwned=1">step two');
    expect(await o.page.locator(".conv-timeline img").count()).toBe(0);
    await toggle.click();
    await row(o.page, r1).waitFor({ state: "detached" });

    // Reply in thread: the composer says so, the post carries reply_to, the thread opens on it.
    await toggle.click();
    await o.page.click(`.thread[data-thread="${root}"] [data-testid="thread-reply"]`);
    const bar = o.page.locator('[data-testid="composer-reply"]');
    await bar.waitFor();
    expect(await bar.innerText()).toContain("Replying in thread to alice");
    expect(await o.page.evaluate(() => document.activeElement?.id)).toBe("composerInput");
    await o.page.keyboard.type("ship it on thursday");
    await o.page.keyboard.press("Enter");
    await o.page.waitForFunction((t) => [...document.querySelectorAll('[data-testid="thread-list"] .conv-text')].some((e) => e.textContent === t), "ship it on thursday");
    await bar.waitFor({ state: "hidden" });
    expect(await toggle.innerText()).toContain("3 replies");
    const said = (await h.admin("/admin/state?room=th-room")).json.messages.find((m: any) => m.text === "ship it on thursday");
    expect(said).toMatchObject({ from: "operator", reply_to: root, thread: root });

    // A reply from an agent joins the open thread live; one in a collapsed thread bumps the count.
    await bob.post({ text: "agreed", reply_to: root });
    await o.page.waitForFunction(() => document.querySelector('[data-testid="thread-toggle"]')?.textContent?.includes("4 replies"));
    await toggle.click();
    await carol.post({ text: "me too", reply_to: root });
    await o.page.waitForFunction(() => document.querySelector('[data-testid="thread-toggle"]')?.textContent?.includes("5 replies"));
    expect(await toggle.getAttribute("aria-expanded")).toBe("false");

    // A reply started from a message's own button can be dropped with Escape.
    await row(o.page, other).locator('[data-testid="reply-btn"]').click();
    await bar.waitFor();
    expect(await bar.innerText()).toContain("Replying in thread to alice: unrelated note");
    await o.page.keyboard.press("Escape");
    await bar.waitFor({ state: "hidden" });
    expect(await o.page.evaluate(() => (window as any).__pwned)).toBeUndefined();
    expect(o.errors).toEqual([]);
    await o.close();
  }, 60_000);

  test("a paused room leads the room list with a badge, its header says why, and one button resumes it", async () => {
    const ping = h.asAgent(await h.invite("ping", "loop-room"));
    const pong = h.asAgent(await h.invite("pong", "loop-room"));
    const calm = h.asAgent(await h.invite("calm", "calm-room"));
    for (let i = 0; i < LOOP_GUARD; i++) await (i % 2 ? pong : ping).post({ text: `thanks! ${i}` });
    const refused = await ping.call("POST", "/messages", { text: "thanks again!" });
    expect(refused.status).toBe(429);
    expect(refused.json.error).toBe("room_paused");
    await calm.post({ text: "all quiet here" }); // the most recent room would lead by recency

    const o = await h.open("/dashboard?room=calm-room");
    await row(o.page, 1).waitFor();
    const first = o.page.locator("#roomList [data-room]").first();
    expect(await first.getAttribute("data-room")).toBe("loop-room");
    expect(await first.getAttribute("data-status")).toBe("paused");
    expect(await first.locator('[data-testid="paused-badge"]').innerText()).toMatch(/paused/i);
    expect(await o.page.locator("#pauseBar").isHidden()).toBe(true);

    await first.click();
    await o.page.waitForSelector('[data-testid="room-status"][data-status="paused"]');
    expect(await o.page.locator('[data-testid="pause-reason"]').innerText())
      .toBe(`Paused after ${LOOP_GUARD} agent messages without you — speak or resume.`);
    await o.page.click('[data-testid="resume-btn"]');
    await o.page.waitForSelector("#pauseBar", { state: "hidden" });
    await o.page.waitForSelector('[data-testid="room-status"][data-status="open"]');
    await o.page.waitForSelector('#roomList [data-room="loop-room"][data-status="open"]');
    expect((await ping.call("POST", "/messages", { text: "back to work" })).status).toBe(200);

    // Paused again; this time the operator speaks from the composer, which resumes it too.
    for (let i = 1; i < LOOP_GUARD; i++) await (i % 2 ? pong : ping).post({ text: `ok ${i}` });
    await o.page.waitForSelector('[data-testid="pause-bar"]:not([hidden])', { timeout: 15_000 });
    await o.page.fill("#composerInput", "stop thanking each other, please");
    await o.page.keyboard.press("Enter");
    await o.page.waitForSelector("#pauseBar", { state: "hidden", timeout: 15_000 });
    expect((await h.admin("/admin/state")).json.rooms.find((r: any) => r.room === "loop-room")).toMatchObject({ paused: false, agent_run: 0 });
    expect(o.errors).toEqual([]);
    await o.close();
  }, 60_000);

  test("no request left the origin and no page logged a console error", () => {
    h.ready();
    expect(h.offOrigin).toEqual([]);
    expect(h.consoleErrors).toEqual([]);
  });
});
