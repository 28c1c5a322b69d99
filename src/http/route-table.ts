/** Known paths and their methods, derived from the app's registered routes, for 404/405 before anything else. */
export class RouteTable {
  private compiled: { pattern: RegExp; method: string }[] | null = null;
  private seen = -1;

  /** The methods registered for `path` (sorted), or null when no route matches it. */
  methodsFor(routes: readonly { method: string; path: string }[], path: string): string[] | null {
    if (!this.compiled || this.seen !== routes.length) {
      this.seen = routes.length;
      this.compiled = routes.map((r) => ({ method: r.method.toUpperCase(), pattern: compile(r.path) }));
    }
    const methods = new Set<string>();
    for (const r of this.compiled) if (r.pattern.test(path)) methods.add(r.method);
    return methods.size ? [...methods].sort() : null;
  }
}

function compile(path: string): RegExp {
  const parts = path.split("/").map((seg) => {
    if (seg === "*") return ".*";
    if (seg.startsWith(":")) return "[^/]+";
    return seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  });
  return new RegExp(`^${parts.join("/")}$`);
}
