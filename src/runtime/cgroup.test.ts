// When create joins the cgroup without sync 2 (cgroupJoinFiles), and by which files: on this host's
// real layout (read only: nothing is created).
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import type { Spec } from "../config/types.ts";
import { cgroupJoinFiles, cgroupPathsFor } from "./cgroup.ts";

const [major = 0, minor = 0] = readFileSync("/proc/sys/kernel/osrelease", "utf8").split(".").map(Number);
const modern = major > 5 || (major === 5 && minor >= 7);

function spec(namespaces: { type: string; path?: string }[]): Spec {
  return { linux: { namespaces, cgroupsPath: "/leopard-test/join-files" } } as unknown as Spec;
}

test.skipIf(!modern)("a plain container joins by the v1 tasks files and the cgroup2 directory", () => {
  const s = spec([{ type: "pid" }, { type: "mount" }, { type: "cgroup" }]);
  const paths = cgroupPathsFor(s, "c", false);
  const files = cgroupJoinFiles(s, paths, false);
  expect(files).toBeDefined();
  for (const [key, path] of Object.entries(paths)) {
    if (key === "") expect(files?.unified).toEndWith(path);
    else expect(files?.tasks.some((t) => t.endsWith(`${path}/tasks`))).toBe(true);
  }
  expect((files?.tasks.length ?? 0) + (files?.unified === undefined ? 0 : 1)).toBeGreaterThan(0);
});

test("sync 2 where the fast join does not hold: systemd, a user namespace, a joined cgroup namespace", () => {
  const paths = cgroupPathsFor(spec([]), "c", false);
  expect(cgroupJoinFiles(spec([{ type: "pid" }]), paths, true)).toBeUndefined();
  expect(cgroupJoinFiles(spec([{ type: "user" }, { type: "pid" }]), paths, false)).toBeUndefined();
  expect(cgroupJoinFiles(spec([{ type: "user", path: "/proc/1/ns/user" }]), paths, false)).toBeUndefined();
  expect(
    cgroupJoinFiles(spec([{ type: "cgroup", path: "/proc/1/ns/cgroup" }]), paths, false),
  ).toBeUndefined();
});
