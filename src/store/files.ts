import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The data directory of SPEC §3: the database path, `admin.token` and `url.txt`.
 * Created 0700 on first use (an existing directory is left alone).
 */
export class DataDir {
  constructor(readonly path: string) {}

  get dbPath(): string {
    return join(this.path, "argybargy.db");
  }
  get tokenPath(): string {
    return join(this.path, "admin.token");
  }
  get urlPath(): string {
    return join(this.path, "url.txt");
  }

  /** Creates the directory (mode 0700) when missing. Throws with a one-line reason when it cannot. */
  ensure(): void {
    if (existsSync(this.path)) return;
    try {
      mkdirSync(this.path, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new Error(`cannot create the data directory ${this.path} (${(err as NodeJS.ErrnoException).code ?? "error"}); set ARGYBARGY_DATA to a writable directory`);
    }
  }

  /** The admin token, trimmed; null when the file is missing, "" when it is blank. */
  readToken(): string | null {
    try {
      return readFileSync(this.tokenPath, "utf8").trim();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
  }

  /** Writes the token atomically (temp file + rename), mode 0600, no trailing newline. */
  writeToken(token: string): void {
    const tmp = `${this.tokenPath}.${process.pid}.tmp`;
    writeFileSync(tmp, token, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.tokenPath);
  }

  /** The public URL from `url.txt`, trimmed without a trailing slash; null when missing or blank. */
  readUrl(): string | null {
    try {
      const url = readFileSync(this.urlPath, "utf8").trim().replace(/\/+$/, "");
      return url || null;
    } catch {
      return null;
    }
  }

  writeUrl(url: string): void {
    writeFileSync(this.urlPath, `${url}\n`);
  }

  removeUrl(): void {
    rmSync(this.urlPath, { force: true });
  }
}
