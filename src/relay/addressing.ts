import { invalid, RelayError } from "./errors.ts";
import { NAME_MAX, requireString } from "./validate.ts";

/**
 * Checks `to` and `expects_reply` of a post (SPEC §5.5) and returns the values to store:
 * `to` defaults to "all"; `expects_reply` absent, null or blank defaults to "none" for a
 * broadcast and the recipient for a DM. Throws 422 `invalid` or `unknown_recipient`.
 * `members` is only called when a name has to be checked.
 */
export async function checkAddressing(room: string, toIn: unknown, expectsIn: unknown, members: () => Promise<string[]>): Promise<{ to: string; expectsReply: string }> {
  let to = "all";
  if (toIn !== undefined) {
    if (toIn === null) throw invalid("to", "to must be \"all\" or a member's name, not null.");
    to = requireString(toIn, "to");
    if (to.length < 1 || to.length > NAME_MAX) throw invalid("to", `to must be 1-${NAME_MAX} characters.`);
  }
  let expects: string | null = null;
  if (expectsIn !== undefined && expectsIn !== null) {
    const raw = requireString(expectsIn, "expects_reply").trim();
    if (raw.length > NAME_MAX) throw invalid("expects_reply", `expects_reply must be at most ${NAME_MAX} characters.`);
    expects = raw === "" ? null : raw;
  }
  // "all" addresses a broadcast but is nobody to answer: as expects_reply it must be a member like any name.
  const named = (v: string | null): v is string => v !== null && v !== "none" && v !== "anyone";
  if (to !== "all" || named(expects)) {
    const list = await members();
    const unknown = (field: string, value: string) => new RelayError("unknown_recipient",
      `"${value}" is not a member of room "${room}"; use "all" or one of the listed members.`, { field, members: list });
    if (to !== "all" && !list.includes(to)) throw unknown("to", to);
    if (named(expects) && !list.includes(expects)) throw unknown("expects_reply", expects);
  }
  return { to, expectsReply: expects ?? (to === "all" ? "none" : to) };
}
