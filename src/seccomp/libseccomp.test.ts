import { expect, test } from "bun:test";
import { LeopardError } from "../util/errors.ts";
import { apiLevel, libseccompVersion, openLibseccomp, packArgCmps, SCMP_ARG_CMP_SIZE } from "./libseccomp.ts";

test("struct scmp_arg_cmp packs to 24 bytes: arg, op, datum_a, datum_b", () => {
  const b = packArgCmps([{ arg: 2, op: 7, a: 0xffff_0000_0000_0001n, b: 0x1234n }]);
  expect(b.length).toBe(SCMP_ARG_CMP_SIZE);
  const v = new DataView(b.buffer);
  expect(v.getUint32(0, true)).toBe(2);
  expect(v.getUint32(4, true)).toBe(7);
  expect(v.getBigUint64(8, true)).toBe(0xffff_0000_0000_0001n);
  expect(v.getBigUint64(16, true)).toBe(0x1234n);
});

test("the system libseccomp loads and reports a version with the API we need", () => {
  expect(libseccompVersion()).toMatch(/^2\.\d+\.\d+$/);
  expect(apiLevel()).toBeGreaterThanOrEqual(3);
});

test("a missing libseccomp is a clear error naming the package", () => {
  expect(() => openLibseccomp(["libseccomp-missing.so.9"])).toThrow(LeopardError);
  expect(() => openLibseccomp(["libseccomp-missing.so.9"])).toThrow(/apt-get install libseccomp2/);
});
