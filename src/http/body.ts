import { RelayError } from "../relay/errors.ts";

/** What the request's body turned out to be; read before routing, judged after authentication. */
export type RawBody =
  | { kind: "empty" }
  | { kind: "json"; value: unknown }
  | { kind: "bad"; why: string };

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads a body of at most `cap` bytes, whatever its Content-Type (SPEC §1.1). Returns null when
 * it is larger (decided from Content-Length before reading, or while reading a chunked body).
 * Throws 422 `invalid` (field `body`) when the body is cut off before its end.
 */
export async function readBody(request: Request, cap: number): Promise<RawBody | null> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > cap) return null;
  if (!request.body) return { kind: "empty" };
  let bytes: Uint8Array | null;
  try {
    // A declared length within the cap can be read in one go; only chunked bodies are counted as they stream.
    bytes = declared !== null ? new Uint8Array(await request.arrayBuffer()) : await readCapped(request.body, cap);
  } catch {
    // The client closed before its declared length (or final chunk) arrived: its mistake, not
    // ours, and the request as a whole is refused, so even a route that ignores bodies never runs.
    throw new RelayError("invalid", "The request body ended before it was complete.", { field: "body" });
  }
  if (!bytes) return null;
  if (bytes.byteLength === 0) return { kind: "empty" };
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return { kind: "bad", why: "The request body is not valid UTF-8." };
  }
  try {
    return { kind: "json", value: JSON.parse(text) };
  } catch {
    return { kind: "bad", why: "The request body is not valid JSON." };
  }
}

async function readCapped(stream: ReadableStream<Uint8Array>, cap: number): Promise<Uint8Array | null> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > cap) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return bytes;
}

/** The JSON value of a required body; throws 422 `invalid` (field `body`) when empty or malformed. */
export function requiredBody(raw: unknown): unknown {
  const body = raw as RawBody | undefined;
  if (!body || body.kind === "empty") throw new RelayError("invalid", "A JSON object body is required.", { field: "body" });
  if (body.kind === "bad") throw new RelayError("invalid", body.why, { field: "body" });
  return body.value;
}

/** The JSON value of an optional body: undefined when absent; throws 422 when malformed. */
export function optionalBody(raw: unknown): unknown {
  const body = raw as RawBody | undefined;
  if (!body || body.kind === "empty") return undefined;
  return requiredBody(raw);
}

/**
 * The JSON value of a body that 1.0 clients never sent (claim): undefined when absent or not
 * JSON at all, so an old client's stray bytes keep working; a JSON value is judged by the route.
 */
export function lenientBody(raw: unknown): unknown {
  const body = raw as RawBody | undefined;
  return body?.kind === "json" ? body.value : undefined;
}
