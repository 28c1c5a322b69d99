import { hashCode, parseBearer, secretsEqual } from "./codes.ts";
import { RelayError } from "./errors.ts";
import { AUTH_FAIL_WINDOW_MS } from "./limits.ts";
import type { Relay } from "./relay.ts";
import type { Agent } from "./types.ts";

/**
 * Who is calling: an agent's bearer code, the admin token, the metrics token, and what a wrong
 * one costs (the failed-auth throttle, SPEC §7.8; shared across instances when the store is).
 * Every secret is compared in constant time and never named in an error.
 */
export class Credentials {
  constructor(private readonly relay: Relay) {}

  /** The agent a bearer header names, or null when it is missing, unknown, revoked or expired. No side effects. */
  async lookUp(header: string | null): Promise<Agent | null> {
    const code = parseBearer(header);
    const found = code ? await this.relay.store.findCode(hashCode(code)) : null;
    const valid = found && (found.hashed || secretsEqual(code!, found.stored)) && (found.expiresMs === null || this.relay.clock.now() < found.expiresMs);
    return valid ? { name: found.name, room: found.room, capabilities: found.capabilities } : null;
  }

  /** Checks `X-Admin-Token` in constant time. Throws 401, or 429 when throttled. */
  async admin(token: string | null, ip: string): Promise<void> {
    // Shared: another instance may have regenerated it; the old one must fail here too at once.
    const expected = this.relay.shared ? (await this.relay.shared.adminToken()) ?? this.relay.adminToken : this.relay.adminToken;
    if (token === null || token === "" || !secretsEqual(token, expected)) await this.failed(ip, "admin");
  }

  /**
   * `/metrics`: the admin token when `X-Admin-Token` is sent, else `Authorization: Bearer
   * <metricsToken>` when one is configured (both in constant time). Throws 401, or 429 when throttled.
   */
  async metrics(adminHeader: string | null, authorization: string | null, metricsToken: string, ip: string): Promise<void> {
    if (adminHeader !== null) return this.admin(adminHeader, ip);
    const bearer = parseBearer(authorization);
    if (metricsToken !== "" && bearer !== null && secretsEqual(bearer, metricsToken)) return;
    await this.failed(ip, "metrics");
  }

  /**
   * Counts a failed authentication from `ip` (audited for the admin token) and throws 401, or
   * 429 `rate_limited` once the address is over the throttle.
   */
  async failed(ip: string, kind: "agent" | "admin" | "metrics"): Promise<never> {
    const now = this.relay.clock.now();
    const admin = kind === "admin";
    const entry = this.relay.shared ? await this.relay.shared.authFailure(ip, now, admin, AUTH_FAIL_WINDOW_MS) : this.relay.throttle.fail(ip, now, admin);
    this.relay.metrics.count("auth_failed_total", 1, kind);
    if (admin) {
      const detail = `ip=${ip} count=${entry.adminFailures}`;
      if (entry.auditId === null) {
        entry.auditId = await this.relay.store.insertAudit({ tsMs: now, action: "admin_auth_failed", actor: "", room: "", detail }, this.relay.limits.maxAudit);
        await this.relay.shared?.setAuthAuditId(ip, entry.windowStartMs, entry.auditId);
      } else {
        await this.relay.store.updateAuditDetail(entry.auditId, detail);
      }
      this.relay.changes.bump();
    }
    if (this.relay.throttle.isOver(entry)) {
      this.relay.metrics.count("rate_limited_total", 1, "auth");
      const retry = this.relay.throttle.retryAfter(entry, now);
      throw new RelayError("rate_limited", `Too many failed authentications from your address; retry in ${retry} s.`, { retry_after: retry });
    }
    if (kind === "metrics") {
      throw new RelayError("unauthorized", "The metrics need the admin token in X-Admin-Token, or 'Authorization: Bearer <token>' with the ARGYBARGY_METRICS_TOKEN the server was started with.");
    }
    throw new RelayError("unauthorized", admin
      ? "The admin token is missing or wrong: send it in the X-Admin-Token header (argybargy token prints it)."
      : "A valid access code is needed in 'Authorization: Bearer <code>'; the operator of this relay hands out codes.");
  }
}
