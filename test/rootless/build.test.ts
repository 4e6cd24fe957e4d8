// A rootless `leopard build`: its RUN steps run on the overlay the runtime mounts in the step
// container's own user namespace (as `leopard run` does; src/build/container.ts), as a real
// unprivileged user, on the three-layer image of test/rootless/layers-image.ts. The RUN's layer
// holds only what the command changed (a copy of the layers would hold all of them), with the
// container's owners; --network none is a namespace of its own with loopback up.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { type Result, type RootlessUser, TOP } from "./harness.ts";
import { layeredWhy, savedLayerEntries, useLayeredImage } from "./layers-image.ts";

const LEOPARD = `${TOP}/bin/leopard`;
const why = layeredWhy();
let user: RootlessUser;
let image: string;
let storage: string;

const leopard = (...args: string[]): Result => user.run([LEOPARD, ...args]);

useLayeredImage(why, {
  ready: (w) => {
    ({ user, image, storage } = w);
  },
});

describe.skipIf(why !== undefined)("rootless build: RUN on overlay in the step's user namespace", () => {
  test("RUN's changes only, with the container's owners; the image runs; nothing left", () => {
    const ctx = `${user.work}/ctx`;
    const dockerfile = [
      `FROM ${image}`,
      "RUN echo built > /etc/built && rm /etc/keep && echo mine > /etc/mine && chown 5:6 /etc/mine && ls /var/cache > /etc/cache-list",
      "RUN --network=none cat /sys/class/net/lo/operstate > /etc/lo && ls /sys/class/net | wc -l > /etc/nics",
      "COPY f /etc/f",
    ].join("\n");
    expect(
      user.run([
        "sh",
        "-c",
        `mkdir ${ctx} && printf '%s\\n' '${dockerfile}' > ${ctx}/Dockerfile && echo f > ${ctx}/f`,
      ]).code,
    ).toBe(0);
    const b = leopard("build", "-q", "-t", "rootless/built:1", ctx);
    expect(b.stderr).toBe("");
    expect(b.code).toBe(0);
    const r = leopard(
      "run",
      "--rm",
      "--network",
      "none",
      "rootless/built:1",
      "sh",
      "-c",
      "cat /etc/built /etc/cache-list /etc/lo /etc/nics /etc/f; ls -ln /etc/f | awk '{print $3, $4}'; test -e /etc/keep || echo keep-gone",
    );
    // The opaque /var/cache of the base (new only), loopback up and alone in RUN --network=none.
    expect(r).toMatchObject({ code: 0, stdout: "built\nnew\nunknown\n1\nf\n0 0\nkeep-gone\n", stderr: "" });
    // The first RUN's layer (the one deleting /etc/keep): its changes and /etc, nothing of the
    // layers below. (COPY's step still copies the layers, so its layer holds them all.)
    const entries = savedLayerEntries(user, leopard, "rootless/built:1", "etc/.wh.keep");
    expect(entries).toMatchObject({
      code: 0,
      stdout: "0/0 etc/\n0/0 etc/.wh.keep\n0/0 etc/built\n0/0 etc/cache-list\n5/6 etc/mine\n",
    });
    // The steps' containers are gone.
    expect(readdirSync(`${storage}/containers`)).toEqual([]);
  });

  test("where the kernel refuses overlay in a user namespace (the probe's kept answer), RUN runs on a copy", () => {
    const probe = `${storage}/overlay-userns.json`;
    const kernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
    const keep = { kernel, dev: statSync(storage).dev, refused: "(test)" };
    expect(user.run(["sh", "-c", `printf '%s' '${JSON.stringify(keep)}' > ${probe}`]).code).toBe(0);
    try {
      const ctx = `${user.work}/ctx2`;
      const dockerfile = [`FROM ${image}`, "RUN echo copied > /etc/copied && id -u > /etc/uid"].join("\n");
      expect(
        user.run(["sh", "-c", `mkdir ${ctx} && printf '%s\\n' '${dockerfile}' > ${ctx}/Dockerfile`]).code,
      ).toBe(0);
      const b = leopard("build", "-q", "-t", "rootless/copied:1", ctx);
      expect(b).toMatchObject({ code: 0, stderr: "" });
      const r = leopard(
        "run",
        "--rm",
        "--network",
        "none",
        "rootless/copied:1",
        "cat",
        "/etc/copied",
        "/etc/uid",
        "/etc/keep",
      );
      expect(r).toMatchObject({ code: 0, stdout: "copied\n0\nkept", stderr: "" });
    } finally {
      user.run(["rm", "-f", probe]);
    }
    expect(readdirSync(`${storage}/containers`)).toEqual([]);
  });
});
