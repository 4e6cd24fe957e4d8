import { expect, test } from "bun:test";
import { cleanRuntimeError, conmonArgs, RUNTIME } from "./conmon.ts";

test("conmon's arguments, as podman passes them", () => {
  const a = conmonArgs({
    id: "abc",
    name: "web",
    bundle: "/s/containers/abc",
    ociRoot: "/r/oci",
    exitDir: "/r/exits",
    socketDir: "/r/socket",
    logPath: "/s/containers/abc/ctr.log",
    tty: true,
    stdin: false,
    exitCommand: ["/bin/leopard", "container-cleanup", "abc"],
  });
  const pairs = (flag: string) => a.flatMap((x, i) => (x === flag ? [a[i + 1]] : []));
  expect(pairs("-r")).toEqual([RUNTIME]);
  expect(pairs("-l")).toEqual(["k8s-file:/s/containers/abc/ctr.log"]);
  expect(pairs("--runtime-arg")).toEqual(["--root", "/r/oci"]);
  expect(pairs("--exit-command")).toEqual(["/bin/leopard"]);
  expect(pairs("--exit-command-arg")).toEqual(["container-cleanup", "abc"]);
  expect(a).toContain("-t");
  expect(a).not.toContain("-i");
});

test("the runtime's own sentence is kept from conmon's wrapping", () => {
  expect(cleanRuntimeError('runtime error\nleopard-oci: create abc: mount "x": no such device\n')).toBe(
    'mount "x": no such device',
  );
  expect(cleanRuntimeError("something else\nmore")).toBe("something else; more");
});
