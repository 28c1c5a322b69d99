import type { Bus } from "./ports.ts";

/** The in-process Bus: "room X changed" goes straight to this process's listeners (never remote). */
export class LocalBus implements Bus {
  private readonly listeners = new Set<(room: string, remote: boolean) => void>();

  roomChanged(room: string): void {
    for (const listener of this.listeners) listener(room, false);
  }

  subscribe(listener: (room: string, remote: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
