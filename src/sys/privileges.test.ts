import { expect, test } from "bun:test";
import { parseStatus, privileges } from "./privileges.ts";

const STATUS = `Name:\tsh
NoNewPrivs:\t1
Seccomp:\t2
Seccomp_filters:\t1
CapInh:\t0000000000000000
CapPrm:\t000001fffeffffff
CapEff:\t000001fffeffffff
CapBnd:\t000001ffffffffff
CapAmb:\t0000000000000000
`;

test("a /proc status gives the capability sets, no_new_privs and the seccomp mode", () => {
  expect(parseStatus(STATUS)).toEqual({
    effective: "000001fffeffffff",
    permitted: "000001fffeffffff",
    inheritable: "0000000000000000",
    bounding: "000001ffffffffff",
    ambient: "0000000000000000",
    noNewPrivs: "1",
    seccomp: "2",
  });
});

test("a status without a capability set is refused, naming the line", () => {
  expect(() => parseStatus(STATUS.replace(/^CapAmb.*$/m, ""))).toThrow("/proc status has no CapAmb line");
});

test("a kernel without seccomp shows no Seccomp line: the mode is empty", () => {
  expect(parseStatus(STATUS.replace(/^Seccomp:.*$/m, "")).seccomp).toBe("");
});

test("this process's privileges are its own status's", () => {
  expect(privileges(process.pid)).toEqual(privileges("self"));
});
