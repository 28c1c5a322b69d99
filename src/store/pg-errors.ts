/** PostgreSQL URLs and errors: masking the password, schema selection, one-line reasons, 503 on a lost connection. */
import { RelayError } from "../relay/errors.ts";
import { UnusableDatabaseError } from "./db.ts";

/** `?schema=NAME` in the URL puts argybargy's tables in that schema (several relays, one database). */
export function splitSchema(url: string): { url: string; schema: string | undefined } {
  try {
    const u = new URL(url);
    const schema = u.searchParams.get("schema") ?? undefined;
    if (schema === undefined) return { url, schema };
    u.searchParams.delete("schema");
    return { url: u.toString(), schema };
  } catch {
    return { url, schema: undefined };
  }
}

/** The URL with its password replaced by `***`, for logs and error messages. */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(an unparseable database URL)";
  }
}

/** True for the URLs that select the PostgreSQL store. */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url.trim());
}

/**
 * One line naming why PostgreSQL could not be used, never containing the password (the URL is
 * shown masked; server messages name users and databases, not passwords).
 */
export function describePgError(err: unknown, url: string): string {
  if (err instanceof UnusableDatabaseError) return err.message;
  const e = err as { code?: string; errno?: string; message?: string };
  const where = maskUrl(url);
  if (e.code === "ERR_POSTGRES_CONNECTION_REFUSED") return `cannot reach PostgreSQL at ${where} (connection refused)`;
  if (e.code === "ERR_POSTGRES_CONNECTION_TIMEOUT") return `cannot reach PostgreSQL at ${where} (timed out)`;
  const msg = (e.message ?? String(err)).replace(/\s+/g, " ").trim();
  const safe = (() => {
    try {
      const pw = decodeURIComponent(new URL(url).password);
      return pw ? msg.replaceAll(pw, "***") : msg;
    } catch {
      return msg;
    }
  })();
  return `cannot use PostgreSQL at ${where}: ${safe}${e.errno ? ` (SQLSTATE ${e.errno})` : ""}`;
}

/** True for errors that mean "the database is unreachable or restarting", not "this query is wrong". */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; errno?: string };
  if (typeof e?.code === "string" && /^ERR_POSTGRES_(CONNECTION|IDLE_TIMEOUT|LIFETIME_TIMEOUT)/.test(e.code)) return true;
  // SQLSTATE class 08 (connection exception), 57P01-57P03 (shutdown, crash, cannot connect now).
  return typeof e?.errno === "string" && (/^08/.test(e.errno) || /^57P0[123]$/.test(e.errno));
}

/** The error a request gets while the database is away. */
export const unavailable = () =>
  new RelayError("unavailable", "The relay's database is not answering right now; retry in a few seconds.", { retry_after: 2 });
