/** Paths remembered with their methods; parameterised paths (claim seqs, room names) are many, so the memo is bounded. */
const MEMO_MAX = 2048;

/** Known paths and their methods, derived from the app's registered routes, for 404/405 before anything else. */
export class RouteTable {
  private compiled: { pattern: RegExp; method: string }[] = [];
  private seen = -1;
  private readonly memo = new Map<string, string[] | null>();

  /** The methods registered for `path` (sorted, HEAD wherever GET is), or null when no route matches it. */
  methodsFor(routes: readonly { method: string; path: string }[], path: string): string[] | null {
    if (this.seen !== routes.length) {
      this.seen = routes.length;
      this.compiled = routes.map((r) => ({ method: r.method.toUpperCase(), pattern: compile(r.path) }));
      this.memo.clear();
    }
    const known = this.memo.get(path);
    if (known !== undefined) return known;
    const methods = new Set<string>();
    for (const r of this.compiled) if (r.pattern.test(path)) methods.add(r.method);
    // Every GET resource also answers HEAD (Elysia serves it from the GET route); monitors use it.
    if (methods.has("GET")) methods.add("HEAD");
    const result = methods.size ? [...methods].sort() : null;
    if (this.memo.size >= MEMO_MAX) this.memo.clear();
    this.memo.set(path, result);
    return result;
  }
}

/** The path of a request URL without parsing the whole URL (hot path: every request). */
export function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const query = url.indexOf("?", start);
  return query < 0 ? url.slice(start) : url.slice(start, query);
}

function compile(path: string): RegExp {
  const parts = path.split("/").map((seg) => {
    if (seg === "*") return ".*";
    if (seg.startsWith(":")) return "[^/]+";
    return seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  });
  return new RegExp(`^${parts.join("/")}$`);
}
