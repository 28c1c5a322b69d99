import { RelayError } from "./errors.ts";
import type { RoomStatus } from "./types.ts";

/** The status of a room with no record: open. */
export const openStatus = (name: string): RoomStatus => ({ name, status: "open", closedAtMs: null, closedBy: null });

/** 409 `room_closed`: who closed the room and when, and that the agent should wrap up (SPEC §5.5). */
export function closedError(status: RoomStatus): RelayError {
  const at = status.closedAtMs === null ? null : new Date(status.closedAtMs).toISOString();
  return new RelayError("room_closed",
    `Room "${status.name}" was closed by ${status.closedBy ?? "the operator"}${at ? ` at ${at}` : ""}; nobody will read further posts. Stop polling and wrap up.`,
    { closed_at: at, closed_by: status.closedBy });
}
