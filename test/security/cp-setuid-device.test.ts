// `leopard cp` out of a container must not hand the container's root a way onto the host: a
// setuid-root file it planted, copied out as root with its mode, is a setuid-root program on
// the host; a device node it made (docker's capabilities include CAP_MKNOD) is a host device
// node outside any device cgroup. Without -a, files copied out are the caller's, setuid and
// setgid bits are dropped, and device nodes, FIFOs and sockets are left out (each named in a
// warning); with -a (docker's archive mode) owners, modes and special files are kept. Copies
// into a container are owned by its root unless -a, and carry no special files unless -a.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { lstatSync, mkdirSync, readdirSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { leopard, ok, removeAll, tempDir, until } from "../engine/harness.ts";

setDefaultTimeout(120_000);
afterAll(removeAll);

const NONE = ["--network", "none"];
const PLANT = [
  "mkdir /s",
  "echo '#!/bin/sh' > /s/suid && chmod 4755 /s/suid",
  "echo '#!/bin/sh' > /s/sgid && chmod 2755 /s/sgid",
  "mknod /s/null c 1 3",
  "mknod /s/loop b 7 0",
  "mkfifo /s/fifo",
  "echo mine > /s/owned && chown 1234:5678 /s/owned",
  "ln -s /etc/shadow /s/link",
  "touch /ready",
  "sleep 1000",
].join("; ");

const mode = (p: string): number => lstatSync(p).mode & 0o7777;
const owner = (p: string): string => `${lstatSync(p).uid}:${lstatSync(p).gid}`;

async function planted(name: string): Promise<void> {
  await ok(["run", "-d", ...NONE, "--name", name, "busybox", "sh", "-c", PLANT]);
  await until(
    "files planted",
    async () => (await leopard(["exec", name, "test", "-e", "/ready"])).code === 0,
  );
}

describe("cp and the container's setuid files and device nodes", () => {
  test("copied out without -a: the caller's files, no setuid or setgid bit, no device node, FIFO or socket", async () => {
    await planted("specials");
    const dest = tempDir("cp-specials");
    const r = await leopard(["cp", "specials:/s", join(dest, "s")]);
    expect(r.code).toBe(0);
    const s = join(dest, "s");
    expect(readdirSync(s).sort()).toEqual(["link", "owned", "sgid", "suid"]);
    expect(mode(join(s, "suid"))).toBe(0o755);
    expect(mode(join(s, "sgid"))).toBe(0o755);
    expect(owner(join(s, "suid"))).toBe("0:0");
    expect(owner(join(s, "owned"))).toBe("0:0");
    expect(readlinkSync(join(s, "link"))).toBe("/etc/shadow");
    // Each file left out is named, once.
    for (const n of ["null", "loop", "fifo"]) expect(r.err).toContain(`"/s/${n}"`);
    expect(r.err.trim().split("\n").length).toBe(3);
    // A single device node asked for by name is not made either: the copy fails and nothing appears.
    const one = await leopard(["cp", "specials:/s/null", join(dest, "null")]);
    expect(one.code).toBe(1);
    expect(one.err).toContain('"/s/null"');
    expect(readdirSync(dest)).toEqual(["s"]);
  });

  test("copied out with -a: owners, setuid bits and special files as in the container", async () => {
    const dest = tempDir("cp-specials-a");
    await ok(["cp", "-a", "specials:/s", join(dest, "s")]);
    const s = join(dest, "s");
    expect(readdirSync(s).sort()).toEqual(["fifo", "link", "loop", "null", "owned", "sgid", "suid"]);
    expect(mode(join(s, "suid"))).toBe(0o4755);
    expect(mode(join(s, "sgid"))).toBe(0o2755);
    expect(owner(join(s, "owned"))).toBe("1234:5678");
    expect(lstatSync(join(s, "null")).isCharacterDevice()).toBe(true);
    expect(lstatSync(join(s, "null")).rdev).toBe(lstatSync("/dev/null").rdev);
    expect(lstatSync(join(s, "loop")).isBlockDevice()).toBe(true);
    expect(lstatSync(join(s, "fifo")).isFIFO()).toBe(true);
    await ok(["rm", "-f", "specials"]);
  });

  test("copied in: owned by the container's root without -a, special files only with -a", async () => {
    const src = join(tempDir("cp-specials-in"), "h");
    mkdirSync(src);
    writeFileSync(join(src, "tool"), "#!/bin/sh\n", { mode: 0o755 });
    Bun.spawnSync(["chown", "1234:5678", join(src, "tool")]);
    Bun.spawnSync(["chmod", "4755", join(src, "tool")]);
    Bun.spawnSync(["mkfifo", join(src, "fifo")]);
    Bun.spawnSync(["mknod", join(src, "null"), "c", "1", "3"]);
    await ok(["run", "-d", ...NONE, "--name", "specials-in", "busybox", "sleep", "1000"]);
    const plain = await leopard(["cp", src, "specials-in:/plain"]);
    expect(plain.code).toBe(0);
    for (const n of ["fifo", "null"]) expect(plain.err).toContain(`/${n}"`);
    expect(await ok(["exec", "specials-in", "sh", "-c", "ls /plain; stat -c '%u:%g %a' /plain/tool"])).toBe(
      "tool\n0:0 4755\n",
    );
    await ok(["cp", "-a", src, "specials-in:/arch"]);
    expect(
      await ok([
        "exec",
        "specials-in",
        "sh",
        "-c",
        "ls /arch; stat -c '%u:%g %a' /arch/tool; stat -c %F /arch/null",
      ]),
    ).toBe("fifo\nnull\ntool\n1234:5678 4755\ncharacter special file\n");
    await ok(["rm", "-f", "specials-in"]);
  });
});
