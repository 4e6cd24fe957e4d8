// Freezing: v1's freezer.state (FROZEN / THAWED, reading FREEZING until every task stopped),
// v2's cgroup.freeze with the outcome in cgroup.events ("frozen 1").
import { LeopardError } from "../../util/errors.ts";
import { readCgOpt, readKeyValues, waitFor, writeCg } from "../files.ts";

export type FreezerState = "frozen" | "thawed";

const TIMEOUT_MS = 5000;

export function freezeV1(dir: string, state: FreezerState): void {
  const want = state === "frozen" ? "FROZEN" : "THAWED";
  // A task in an uninterruptible sleep can keep the cgroup in FREEZING; writing again retries it.
  const ok = waitFor(() => {
    writeCg(dir, "freezer.state", want);
    return readCgOpt(dir, "freezer.state") === want;
  }, TIMEOUT_MS);
  if (!ok) {
    if (state === "frozen") writeCg(dir, "freezer.state", "THAWED");
    throw new LeopardError(
      "system",
      `the cgroup ${JSON.stringify(dir)} did not become ${want} within ${TIMEOUT_MS} ms`,
    );
  }
}

export function freezerStateV1(dir: string): FreezerState {
  const s = readCgOpt(dir, "freezer.state");
  return s === "FROZEN" || s === "FREEZING" ? "frozen" : "thawed";
}

export function freezeV2(dir: string, state: FreezerState): void {
  writeCg(dir, "cgroup.freeze", state === "frozen" ? "1" : "0");
  const want = state === "frozen" ? 1 : 0;
  if (!waitFor(() => readKeyValues(dir, "cgroup.events")["frozen"] === want, TIMEOUT_MS)) {
    if (state === "frozen") writeCg(dir, "cgroup.freeze", "0");
    throw new LeopardError(
      "system",
      `the cgroup ${JSON.stringify(dir)} did not become ${state} within ${TIMEOUT_MS} ms`,
    );
  }
}

export function freezerStateV2(dir: string): FreezerState {
  return readCgOpt(dir, "cgroup.freeze") === "1" ? "frozen" : "thawed";
}
