import { expect, test } from "bun:test";
import { loadConfig } from "../src/config.ts";

// SPEC §2: settings added for issue 11 parse like every other one (bad values fall back with a warning).

test("ARGYBARGY_SYNC is normal by default, full on request, and falls back to normal on anything else", () => {
  expect(loadConfig({}, {}).config.sync).toBe("normal");
  expect(loadConfig({}, { ARGYBARGY_SYNC: " FULL " }).config.sync).toBe("full");
  const bad = loadConfig({}, { ARGYBARGY_SYNC: "extra" });
  expect(bad.config.sync).toBe("normal");
  expect(bad.warnings.join("\n")).toContain("ARGYBARGY_SYNC");
});

test("ARGYBARGY_MAX_POLLS_PER_AGENT defaults to 8; 0 turns the cap off; negatives fall back", () => {
  expect(loadConfig({}, {}).config.maxPollsPerAgent).toBe(8);
  expect(loadConfig({}, { ARGYBARGY_MAX_POLLS_PER_AGENT: "0" }).config.maxPollsPerAgent).toBe(0);
  const bad = loadConfig({}, { ARGYBARGY_MAX_POLLS_PER_AGENT: "-3" });
  expect(bad.config.maxPollsPerAgent).toBe(8);
  expect(bad.warnings).toHaveLength(1);
});
