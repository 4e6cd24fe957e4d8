import { expect, test } from "bun:test";
import type { Request } from "./wire.ts";
import { mismatch } from "./worker.ts";

const req: Request = {
  name: "leopard-oci",
  stamp: "1.000000001",
  cwd: "/",
  nofile: { soft: 1024n, hard: 1024n },
  argv: ["state", "x"],
  env: {},
};

test("a worker acts only for its own CLI, its own build, and a caller that shares its namespaces and root", () => {
  expect(mismatch(process.pid, req, "leopard-oci", "1.000000001")).toBeUndefined();
  expect(mismatch(process.pid, req, "leopard", "1.000000001")).toBe("asked for leopard-oci");
  expect(mismatch(process.pid, req, "leopard-oci", "2.000000000")).toBe("another build of the CLI");
  expect(mismatch(2 ** 22 + 1, req, "leopard-oci", "1.000000001")).toBe("cannot compare the mnt namespace");
});
