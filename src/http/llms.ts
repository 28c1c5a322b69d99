/**
 * The manifest as plain text (`GET /llms.txt`), for agents that fetch documentation that way:
 * one heading per section, one line per entry, nothing dropped.
 */
export function manifestText(manifest: Record<string, unknown>): string {
  const out = [`# ${String(manifest.name)} ${String(manifest.version)}`, "", String(manifest.what)];
  for (const [key, value] of Object.entries(manifest)) {
    if (key === "name" || key === "version" || key === "what") continue;
    out.push("", `## ${key.replaceAll("_", " ")}`, "");
    out.push(...lines(value, ""));
  }
  return `${out.join("\n")}\n`;
}

function lines(value: unknown, indent: string): string[] {
  if (Array.isArray(value)) return value.flatMap((item) => lines(item, indent).map((l, i) => (i === 0 ? `${indent}- ${l.slice(indent.length)}` : `  ${l}`)));
  if (value !== null && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (typeof o.method === "string" && typeof o.path === "string") return [`${indent}${endpoint(o)}`];
    return Object.entries(o).flatMap(([k, v]) => {
      if (typeof v === "string" && v.includes("\n")) return [`${indent}${k}:`, ...v.split("\n").map((l) => `${indent}    ${l}`)];
      if (v !== null && typeof v === "object") return [`${indent}${k}:`, ...lines(v, `${indent}  `)];
      return [`${indent}${k}: ${String(v)}`];
    });
  }
  return [`${indent}${String(value)}`];
}

function endpoint(e: Record<string, unknown>): string {
  const body = e.body ? ` Body: ${JSON.stringify(e.body)}` : "";
  return `${String(e.method)} ${String(e.path)}${e.auth ? " (code)" : ""}: ${String(e.desc)}${body}`;
}
