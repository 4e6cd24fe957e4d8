// Bad input: a one-line error naming the problem, a non-zero exit, and nothing left behind.
import { describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bundle, leftovers, oci, rootfs, trackBundles } from "./harness.ts";

const use = trackBundles();

function expectOneLineError(r: { code: number; stderr: string }, re: RegExp): void {
  expect(r.code).not.toBe(0);
  expect(r.stderr.endsWith("\n")).toBe(true);
  expect(r.stderr.trim().split("\n").length).toBe(1);
  expect(r.stderr).toMatch(re);
}

describe("bad input", () => {
  test("a missing config.json is named", () => {
    const b = use(bundle());
    rmSync(join(b.dir, "config.json"));
    expectOneLineError(oci(b, ["create", "c1"]), /^leopard-oci: create c1: .*config\.json/);
  });

  test("config.json that is not JSON is refused", () => {
    const b = use(bundle());
    writeFileSync(join(b.dir, "config.json"), "{ not json");
    expectOneLineError(oci(b, ["create", "c1"]), /^leopard-oci: create c1: config\.json: not valid JSON/);
  });

  test("a malformed field is named with its value", () => {
    const b = use(
      bundle({
        edit: (c) => {
          ((c["linux"] as Record<string, unknown>)["namespaces"] as unknown[]).push({ type: "bogus" });
        },
      }),
    );
    expectOneLineError(oci(b, ["create", "c1"]), /linux\.namespaces\[\d+\]\.type "bogus"/);
  });

  test("empty process.args is refused", () => {
    const b = use(
      bundle({
        edit: (c) => {
          (c["process"] as Record<string, unknown>)["args"] = [];
        },
      }),
    );
    expectOneLineError(oci(b, ["run", "c1"]), /process\.args/);
  });

  test("an unknown capability is refused at create", () => {
    const b = use(
      bundle({
        edit: (c) => {
          const caps = (c["process"] as Record<string, Record<string, string[]>>)["capabilities"]!;
          caps["bounding"] = [...(caps["bounding"] ?? []), "CAP_NOT_A_THING"];
        },
      }),
    );
    expectOneLineError(oci(b, ["create", "c1"]), /CAP_NOT_A_THING/);
  });

  test("a missing rootfs is named", () => {
    const b = use(
      bundle({
        edit: (c) => {
          c["root"] = { path: "/nonexistent/leopard-rootfs" };
        },
      }),
    );
    expectOneLineError(oci(b, ["create", "c1"]), /rootfs "\/nonexistent\/leopard-rootfs" does not exist/);
  });

  test("a duplicate container id is refused and the first container is untouched", () => {
    const b = use(bundle({ args: ["/bin/sleep", "60"] }));
    expect(oci(b, ["create", "c1"]).code).toBe(0);
    expectOneLineError(oci(b, ["create", "c1"]), /^leopard-oci: create c1: container "c1" already exists\n$/);
    expect(JSON.parse(oci(b, ["state", "c1"]).stdout).status).toBe("created");
    expect(oci(b, ["delete", "--force", "c1"]).code).toBe(0);
  });

  test("an invalid container id is refused", () => {
    const b = use(bundle());
    expectOneLineError(oci(b, ["create", "../evil"]), /invalid container id "\.\.\/evil"/);
  });

  test("commands on an unknown container say it does not exist", () => {
    const b = use(bundle());
    for (const cmd of [["start"], ["state"], ["kill"], ["delete"]]) {
      expectOneLineError(oci(b, [...cmd, "nope"]), /container "nope" does not exist/);
    }
  });

  test("a program that does not exist, or cannot be run, fails create in runc's words (Docker reads them)", () => {
    const b = use(bundle({ args: ["/bin/no-such-program"] }));
    expectOneLineError(
      oci(b, ["create", "c1"]),
      /^leopard-oci: create c1: exec: "\/bin\/no-such-program": stat \/bin\/no-such-program: no such file or directory\n$/,
    );
    expect(leftovers(b)).toEqual([]);
    b.config["process"] = { ...(b.config["process"] as object), args: ["no-such-program"] };
    b.write();
    expectOneLineError(
      oci(b, ["run", "c1"]),
      /^leopard-oci: run c1: exec: "no-such-program": executable file not found in \$PATH\n$/,
    );
    b.config["process"] = { ...(b.config["process"] as object), args: ["/etc/passwd"] };
    b.write();
    expectOneLineError(
      oci(b, ["create", "c1"]),
      /^leopard-oci: create c1: exec: "\/etc\/passwd": permission denied\n$/,
    );
    b.config["process"] = { ...(b.config["process"] as object), args: ["/bin"] };
    b.write();
    expectOneLineError(
      oci(b, ["create", "c1"]),
      /^leopard-oci: create c1: exec: "\/bin": permission denied\n$/,
    );
    expect(leftovers(b)).toEqual([]);
  });

  test("a program provided by a bind mount passes the command check (it is made after the mounts)", () => {
    const b = use(
      bundle({
        args: ["/mnt/busybox", "echo", "from-a-bind"],
        edit: (c) => {
          (c["mounts"] as unknown[]).push({
            destination: "/mnt",
            type: "bind",
            source: join(rootfs(0), "bin"),
            options: ["rbind", "ro"],
          });
        },
      }),
    );
    expect(oci(b, ["run", "c1"])).toMatchObject({ code: 0, stdout: "from-a-bind\n", stderr: "" });
  });

  test("a failing mount names the mount and the errno", () => {
    const b = use(
      bundle({
        edit: (c) => {
          (c["mounts"] as unknown[]).push({ destination: "/mnt", type: "nosuchfs", source: "none" });
        },
      }),
    );
    expectOneLineError(
      oci(b, ["run", "c1"]),
      /^leopard-oci: run c1: mount "none" on "\/mnt" \(type "nosuchfs"\): no such device\n$/,
    );
  });

  test("errors also go to --log as JSON lines", () => {
    const b = use(bundle());
    const log = join(b.dir, "log.json");
    const r = oci(b, ["--log", log, "--log-format", "json", "state", "nope"]);
    expect(r.code).not.toBe(0);
    const line = JSON.parse(require("node:fs").readFileSync(log, "utf8").trim()) as Record<string, string>;
    expect(line["level"]).toBe("error");
    expect(line["msg"]).toBe('container "nope" does not exist');
    expect(Number.isNaN(Date.parse(line["time"] ?? ""))).toBe(false);
  });

  test("a terminal without --console-socket is refused for a detached container", () => {
    const b = use(
      bundle({
        edit: (c) => {
          (c["process"] as Record<string, unknown>)["terminal"] = true;
        },
      }),
    );
    expectOneLineError(oci(b, ["create", "c1"]), /console-socket/);
  });
});
