import type { RoomStatus } from "./types.ts";

/** `poll_budget` of SPEC §7.6, in domain names. */
export interface PollBudget {
  waitedSeconds: number; roomQuietSeconds: number; idleSeconds: number; maxIdleSeconds: number;
  secondsLeft: number | null; shouldExit: boolean; reason: "room_closed" | "idle_timeout" | null;
}

/** Seconds rounded to 0.1 and never negative, as every duration on the wire. */
export const round1 = (seconds: number) => Math.round(Math.max(0, seconds) * 10) / 10;

/**
 * The idle safety valve: a closed room always says exit (`room_closed`); otherwise exit with
 * `idle_timeout` once the larger of the agent's wait and the room's quiet reaches `maxIdle` (0 = off).
 */
export function pollBudget(waited: number, quiet: number, status: RoomStatus, maxIdle: number): PollBudget {
  const idle = Math.max(round1(waited), round1(quiet));
  const closed = status.status === "closed";
  const timedOut = !closed && maxIdle > 0 && idle >= maxIdle;
  return {
    waitedSeconds: round1(waited), roomQuietSeconds: round1(quiet), idleSeconds: idle, maxIdleSeconds: maxIdle,
    secondsLeft: maxIdle === 0 ? null : round1(maxIdle - idle),
    shouldExit: closed || timedOut,
    reason: closed ? "room_closed" : timedOut ? "idle_timeout" : null,
  };
}
