import { RelayError } from "./errors.ts";

/**
 * The loop guard: a room whose last `limit` messages all came from agents, with no operator
 * message among them, holds agent posts until the operator speaks or resumes it. `limit` 0 is off.
 * The run is counted durably on the room's aggregate (store), so it survives a restart.
 */
export function isPaused(agentRun: number, limit: number): boolean {
  return limit > 0 && agentRun >= limit;
}

/** The 429 `room_paused` refusal. */
export function pausedError(room: string, limit: number): RelayError {
  return new RelayError("room_paused",
    `Room ${room} is paused: ${limit} agent messages in a row without the operator. Wait (keep polling); it resumes when the operator speaks or resumes the room.`,
    { room, limit });
}
