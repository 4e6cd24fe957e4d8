// `leopard` (the engine) as an ordinary user with subordinate ids: storage in
// ~/.local/share/leopard, the run directory in $XDG_RUNTIME_DIR/leopard-engine, images pulled from
// a registry on loopback, containers in a user namespace of the user's own and subordinate ids
// (newuidmap/newgidmap), --network none|host and a network of the container's own through pasta
// (the default where Debian's passt is installed) and slirp4netns (the fallback, or --network
// slirp4netns): outbound connections, -p 127.0.0.1:PORT:80; detached containers under conmon with
// logs and exec, volumes. What a rootless user lacks or cannot have is one line saying so.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { type RunningRegistry, startRegistry } from "../image/harness.ts";
import { cannotRun, makeRootlessUser, oneLine, type Result, type RootlessUser, TOP } from "./harness.ts";

const LEOPARD = join(TOP, "bin/leopard");
const PASTA = ["/usr/bin/pasta", "/usr/sbin/pasta"].some((p) => existsSync(p));
const noPasta = PASTA ? undefined : "pasta is not installed (Debian's passt: make apt-deps)";
const why =
  cannotRun() ??
  (Bun.which("docker-registry") && Bun.which("skopeo") ? undefined : "docker-registry and skopeo are needed");
let user: RootlessUser;
let registry: RunningRegistry;
let image: string;

const leopard = (...args: string[]): Result => user.run([LEOPARD, ...args]);

/** The host's first global IPv4 address (a server there is reached through slirp4netns's NAT). */
function globalAddress(): string | undefined {
  const r = Bun.spawnSync(["ip", "-4", "-o", "addr", "show", "scope", "global"], { stdout: "pipe" });
  return /inet (\d+\.\d+\.\d+\.\d+)\//.exec(r.stdout.toString())?.[1];
}

beforeAll(async () => {
  if (why) return;
  user = makeRootlessUser();
  registry = await startRegistry();
  const tar = join(user.work, "rootfs.tar");
  const t = user.run(["tar", "-C", user.rootfs("image-rootfs"), "-cf", tar, "."]);
  if (t.code !== 0) throw new Error(`tar failed: ${t.stderr}`);
  image = `${registry.host}/rootless/busybox:1`;
  const push = Bun.spawnSync(
    ["skopeo", "copy", "--dest-tls-verify=false", `tarball:${tar}`, `docker://${image}`],
    {
      stderr: "pipe",
      stdout: "ignore",
    },
  );
  if (push.exitCode !== 0) throw new Error(`skopeo copy failed: ${push.stderr.toString()}`);
});

afterAll(async () => {
  if (why) return;
  leopard("rm", "--force", "--all");
  await registry.stop();
  const left = user.cleanup();
  expect(left).toEqual([]);
});

describe.skipIf(why !== undefined)("leopard as an ordinary user", () => {
  test("images: an empty list, storage made in ~/.local/share/leopard and owned by the user", () => {
    const r = leopard("images", "-q");
    expect(r).toMatchObject({ code: 0, stdout: "", stderr: "" });
    const storage = join(user.home, ".local/share/leopard");
    expect(existsSync(join(storage, "blobs/sha256"))).toBe(true);
    expect(statSync(storage).uid).toBe(user.uid);
  });

  test("pull from a registry on loopback, then images lists it", () => {
    const pull = leopard("pull", "--tls-verify=false", image);
    expect(pull.code).toBe(0);
    expect(leopard("images", "--format", "{{.Repository}}:{{.Tag}}").stdout).toBe(`${image}\n`);
  });

  test("run --rm --network none: root inside is the user, 1… are its subordinate ids, a file in /tmp, loopback up, the exit code", () => {
    const r = leopard(
      "run",
      "--rm",
      "--network",
      "none",
      "--hostname",
      "rl",
      image,
      "sh",
      "-c",
      "id -u; hostname; tr -s ' ' < /proc/self/uid_map; echo w > /tmp/f && cat /tmp/f; ip -o link | cut -d: -f2; ping -c1 -W1 127.0.0.1 >/dev/null && echo lo-up; exit 6",
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(6);
    expect(r.stdout).toBe(`0\nrl\n 0 ${user.uid} 1\n 1 ${user.sub.start} ${user.sub.count}\nw\n lo\nlo-up\n`);
  });

  test("run --rm --network host: the host's interfaces, /sys readable", () => {
    const r = leopard(
      "run",
      "--rm",
      "--network",
      "host",
      image,
      "sh",
      "-c",
      "ip -o link | grep -c ': lo:'; ls /sys/class/net | grep -c lo",
    );
    expect(r).toMatchObject({ code: 0, stdout: "1\n1\n", stderr: "" });
  });

  test("detached: logs, exec, a volume, stop, rm, and nothing left in the run directory", () => {
    const run = leopard(
      "run",
      "-d",
      "--name",
      "rl-d",
      "--network",
      "none",
      "-v",
      `${user.work}:/data`,
      image,
      "sh",
      "-c",
      "echo started; ls /data/rootfs.tar; sleep 1000",
    );
    expect(run.code).toBe(0);
    for (let i = 0; i < 100 && !leopard("logs", "rl-d").stdout.includes("rootfs.tar"); i++) Bun.sleepSync(20);
    expect(leopard("logs", "rl-d").stdout).toBe("started\n/data/rootfs.tar\n");
    expect(leopard("exec", "rl-d", "id", "-u")).toMatchObject({ code: 0, stdout: "0\n" });
    expect(leopard("stop", "-t", "1", "rl-d").code).toBe(0);
    expect(leopard("ps", "-a", "--format", "{{.Names}} {{.Status}}").stdout).toMatch(/^rl-d Exited/);
    expect(leopard("rm", "rl-d").code).toBe(0);
    expect(leopard("ps", "-a", "-q").stdout).toBe("");
    expect(user.run(["ls", "-A", `${user.runtimeDir}/leopard-engine/oci`]).stdout).toBe("");
  });

  test("--network slirp4netns: outbound connections reach a server on the host's address", async () => {
    const hostIp = globalAddress();
    if (hostIp === undefined) throw new Error("this host has no global IPv4 address to serve on");
    const server = Bun.serve({ hostname: "0.0.0.0", port: 0, fetch: () => new Response("from-host\n") });
    try {
      // Not spawnSync: this process's server must answer meanwhile.
      const r = await user.runAsync([
        LEOPARD,
        "run",
        "--rm",
        "--network",
        "slirp4netns",
        image,
        "sh",
        "-c",
        `ip -o -4 addr show tap0 | awk '{print $4}'; wget -qO- http://${hostIp}:${server.port}/`,
      ]);
      expect(r).toMatchObject({ code: 0, stdout: "10.0.2.100/24\nfrom-host\n", stderr: "" });
    } finally {
      server.stop(true);
    }
    expect(user.run(["ls", "-A", `${user.runtimeDir}/leopard-engine/slirp`]).stdout).toBe("");
  });

  /** -p 127.0.0.1:PORT:80 through net: httpd in the container answers on the host's loopback until rm. */
  async function publishes(net: "slirp4netns" | "pasta"): Promise<void> {
    const www = join(user.work, "www");
    user.run(["mkdir", "-p", www]);
    user.run(["sh", "-c", `echo hello-rootless > ${www}/index.html`]);
    const port = 20000 + Math.floor(Math.random() * 20000);
    const run = leopard(
      "run",
      "-d",
      "--name",
      "rl-web",
      "--network",
      net,
      "-p",
      `127.0.0.1:${port}:80`,
      "-v",
      `${www}:/www`,
      image,
      "httpd",
      "-f",
      "-p",
      "80",
      "-h",
      "/www",
    );
    expect(run.code).toBe(0);
    let body = "";
    for (let i = 0; i < 100 && body === ""; i++) {
      body = await fetch(`http://127.0.0.1:${port}/`).then(
        (r) => r.text(),
        () => "",
      );
      if (body === "") await Bun.sleep(20);
    }
    expect(body).toBe("hello-rootless\n");
    expect(leopard("rm", "--force", "rl-web").code).toBe(0);
    expect(user.run(["ls", "-A", `${user.runtimeDir}/leopard-engine/slirp`]).stdout).toBe("");
    expect(
      await fetch(`http://127.0.0.1:${port}/`).then(
        () => "answered",
        () => "refused",
      ),
    ).toBe("refused");
  }

  test("-p 127.0.0.1:PORT:80 through slirp4netns publishes a container's server on the host's loopback; rm stops slirp4netns", () =>
    publishes("slirp4netns"));
  test.skipIf(noPasta !== undefined)(
    "-p 127.0.0.1:PORT:80 through pasta publishes a container's server on the host's loopback; rm stops pasta",
    () => publishes("pasta"),
  );

  test.skipIf(noPasta !== undefined)(
    "the default network is pasta where it is installed: the host's address; outbound connections leave as the host's own",
    async () => {
      const hostIp = globalAddress();
      if (hostIp === undefined) throw new Error("this host has no global IPv4 address");
      // The server listens on an address of the host's own other than the one pasta copies into
      // the container (there it would be the container's own): a bridge's with no ports (no dummy driver here).
      const link = `lprl2-${Math.random().toString(36).slice(2, 7)}`;
      const addr = `10.231.${Math.floor(Math.random() * 250) + 1}.1`;
      const ip = (...a: string[]) => Bun.spawnSync(["ip", ...a], { stderr: "pipe" });
      expect(ip("link", "add", link, "type", "bridge").exitCode).toBe(0);
      const server = Bun.serve({ hostname: "0.0.0.0", port: 0, fetch: () => new Response("from-host\n") });
      try {
        expect(ip("addr", "add", `${addr}/32`, "dev", link).exitCode).toBe(0);
        expect(ip("link", "set", link, "up").exitCode).toBe(0);
        const r = await user.runAsync([
          LEOPARD,
          "run",
          "--rm",
          image,
          "sh",
          "-c",
          `ls /sys/class/net | grep -c tap0; ip -o -4 addr show scope global | awk '{print $4}' | cut -d/ -f1; wget -qO- http://${addr}:${server.port}/`,
        ]);
        expect(r).toMatchObject({ stdout: `0\n${hostIp}\nfrom-host\n`, stderr: "" });
      } finally {
        server.stop(true);
        ip("link", "del", link);
      }
      expect(user.run(["ls", "-A", `${user.runtimeDir}/leopard-engine/slirp`]).stdout).toBe("");
      expect(user.run(["pgrep", "-u", String(user.uid), "-f", "^pasta "]).stdout).toBe("");
    },
  );

  test.each([
    [
      "-p with --network none",
      ["--network", "none", "-p", "127.0.0.1:1234:80"],
      /-p needs a network of the container's own: --network none publishes nothing/,
    ],
    [
      "a memory limit on cgroup v1",
      ["--network", "none", "--memory", "64m"],
      /cannot set linux\.resources\.memory: a rootless container could not make its cgroup/,
    ],
  ])("run with %s is refused in one line and leaves no container", (_, flags, re) => {
    const r = leopard("run", "--rm", ...flags, image, "true");
    expect(r.code).not.toBe(0);
    const { line, lines } = oneLine(r.stderr);
    expect(line).toMatch(re);
    expect(lines).toBe(1);
    expect(leopard("ps", "-a", "-q").stdout).toBe("");
  });

  test("--storage a user cannot write is one line, not a raw EACCES", () => {
    const r = leopard("--storage", "/var/lib/leopard-rl-nope", "images");
    expect(r.code).not.toBe(0);
    expect(oneLine(r.stderr)).toEqual({
      line: expect.stringMatching(
        /cannot use the storage directory "\/var\/lib\/leopard-rl-nope": EACCES: permission denied/,
      ),
      lines: 1,
    });
  });

  test("without XDG_RUNTIME_DIR the error names it", () => {
    const r = user.run(["env", "-u", "XDG_RUNTIME_DIR", LEOPARD, "ps"]);
    expect(r.code).not.toBe(0);
    expect(oneLine(r.stderr)).toEqual({
      line: expect.stringMatching(/XDG_RUNTIME_DIR is not set/),
      lines: 1,
    });
  });

  test("without an /etc/subuid entry the error names the file and how to add one", () => {
    const { start, count } = user.sub;
    const range = `${start}-${start + count - 1}`;
    const del = Bun.spawnSync(["usermod", "--del-subuids", range, user.name]);
    expect(del.exitCode).toBe(0);
    try {
      const r = leopard("run", "--rm", "--network", "none", image, "true");
      expect(r.code).not.toBe(0);
      expect(oneLine(r.stderr)).toEqual({
        line: expect.stringMatching(
          new RegExp(
            `/etc/subuid has no entry for "${user.name}" \\(as root: usermod --add-subuids 100000-165535 ${user.name}\\)`,
          ),
        ),
        lines: 1,
      });
      expect(leopard("ps", "-a", "-q").stdout).toBe("");
    } finally {
      Bun.spawnSync(["usermod", "--add-subuids", range, user.name]);
    }
  });

  test("rmi removes the image", () => {
    expect(leopard("rmi", image).code).toBe(0);
    expect(leopard("images", "-q").stdout).toBe("");
  });
});
