import type { Server } from "bun";

/**
 * The client address used by the failed-auth throttle: the socket peer, or `CF-Connecting-IP`
 * when the peer is loopback (the local cloudflared tunnel) (SPEC §7.8). With `trustProxy`
 * (ARGYBARGY_TRUST_PROXY, behind a load balancer) the last X-Forwarded-For entry: the address
 * the balancer itself saw, which a client cannot forge.
 */
export function clientIp(request: Request, server: Server<unknown> | null | undefined, trustProxy = false): string {
  if (trustProxy) {
    const last = request.headers.get("x-forwarded-for")?.split(",").map((s) => s.trim()).filter(Boolean).at(-1);
    if (last) return last.slice(0, 64);
  }
  const peer = server?.requestIP(request)?.address ?? "local";
  const loopback = peer === "local" || peer === "::1" || peer.startsWith("127.") || peer.startsWith("::ffff:127.");
  const forwarded = request.headers.get("cf-connecting-ip")?.trim();
  return loopback && forwarded ? forwarded.slice(0, 64) : peer;
}

/**
 * The base URL of a request (SPEC §1.1): X-Forwarded-Proto/Host when present, else the
 * connection's scheme and Host; no trailing slash.
 */
export function baseUrl(request: Request): string {
  const url = new URL(request.url);
  const proto = request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase();
  const scheme = proto === "http" || proto === "https" ? proto : url.protocol.replace(":", "");
  const host = request.headers.get("x-forwarded-host")?.split(",")[0]?.trim() || request.headers.get("host") || url.host;
  return `${scheme}://${host}`;
}
