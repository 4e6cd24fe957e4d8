import { describe, expect, test } from "bun:test";
import { parseMountInfo } from "../sys/proc.ts";
import { layoutFromMounts, parseProcCgroup } from "./layout.ts";

const line = (id: number, mp: string, fstype: string, opts: string) =>
  `${id} 30 0:${id} / ${mp} rw,relatime - ${fstype} ${fstype} ${opts}`;

const V1 = [
  "30 22 0:27 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755",
  line(31, "/sys/fs/cgroup/cpu,cpuacct", "cgroup", "rw,cpu,cpuacct"),
  line(34, "/sys/fs/cgroup/memory", "cgroup", "rw,memory"),
  line(39, "/sys/fs/cgroup/systemd", "cgroup", "rw,xattr,name=systemd"),
].join("\n");
const HYBRID = `${V1}\n${line(40, "/sys/fs/cgroup/unified", "cgroup2", "rw")}`;
const V2 = line(29, "/sys/fs/cgroup", "cgroup2", "rw,nsdelegate,memory_recursiveprot");

describe("layout detection", () => {
  test("v1 controllers alone are a v1 host, co-mounted controllers share a directory", () => {
    const l = layoutFromMounts(parseMountInfo(V1));
    expect(l.mode).toBe("v1");
    expect(l.v1.get("cpu")).toBe("/sys/fs/cgroup/cpu,cpuacct");
    expect(l.v1.get("cpuacct")).toBe("/sys/fs/cgroup/cpu,cpuacct");
    expect(l.v1.get("name=systemd")).toBe("/sys/fs/cgroup/systemd");
    expect(l.unified).toBeUndefined();
  });

  test("v1 controllers with a cgroup2 mount are a hybrid host", () => {
    const l = layoutFromMounts(parseMountInfo(HYBRID), () => "hugetlb\n");
    expect(l.mode).toBe("hybrid");
    expect(l.unified).toBe("/sys/fs/cgroup/unified");
    expect(l.unifiedControllers).toEqual(["hugetlb"]);
  });

  test("a cgroup2 mount alone is a v2 host", () => {
    const l = layoutFromMounts(parseMountInfo(V2), () => "cpuset cpu io memory pids\n");
    expect(l.mode).toBe("v2");
    expect(l.unifiedControllers).toEqual(["cpuset", "cpu", "io", "memory", "pids"]);
  });

  test("a named v1 hierarchy beside cgroup2 is still a v2 host", () => {
    const text = `${line(39, "/sys/fs/cgroup/systemd", "cgroup", "rw,name=systemd")}\n${V2}`;
    expect(layoutFromMounts(parseMountInfo(text), () => "").mode).toBe("v2");
  });

  test("no cgroup mount at all is an error", () => {
    expect(() => layoutFromMounts([])).toThrow("no cgroup hierarchy is mounted");
  });

  test("/proc/<pid>/cgroup lines map each controller to its path", () => {
    const m = parseProcCgroup("9:name=systemd:/\n4:memory:/process_api/x\n2:cpu,cpuacct:/a\n0::/\n");
    expect(m.get("memory")).toBe("/process_api/x");
    expect(m.get("cpuacct")).toBe("/a");
    expect(m.get("name=systemd")).toBe("/");
    expect(m.get("")).toBe("/");
  });
});
