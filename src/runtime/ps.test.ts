import { describe, expect, test } from "bun:test";
import { filterPsOutput } from "./ps.ts";

const PS = `UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 05:00 ?        00:00:01 /sbin/init
root         200       1  0 05:01 ?        00:00:00 sleep 60
100000       201     200  0 05:01 ?        00:00:00 sh
`;

describe("ps", () => {
  test("keeps the header and the lines of the container's pids, found by the PID column", () => {
    expect(filterPsOutput(PS, [200, 201])).toBe(
      `${PS.split("\n")[0]}\n${PS.split("\n")[2]}\n${PS.split("\n")[3]}\n`,
    );
  });

  test("a PID column anywhere works (ps -o comm,pid)", () => {
    expect(filterPsOutput("COMMAND PID\nsleep 12\nbash 13\n", [13])).toBe("COMMAND PID\nbash 13\n");
  });

  test("output without a PID column is an error", () => {
    expect(() => filterPsOutput("COMMAND\nsleep\n", [1])).toThrow("no PID column");
  });
});
