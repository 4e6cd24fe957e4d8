import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { processState } from "../sys/procstat.ts";
import { closeFd, recvMsg, sendMsg, socketPair, waitReadable } from "../sys/seqpacket.ts";
import type { Request } from "./wire.ts";
import { mismatch, privilegesMismatch, Remote, type Standing } from "./worker.ts";

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await Bun.sleep(5);
}

const req: Request = {
  name: "leopard-oci",
  stamp: "1.000000001",
  cwd: "/",
  nofile: { soft: 1024n, hard: 1024n },
  securebits: 0,
  argv: ["state", "x"],
  env: {},
};

test("a worker acts only for its own CLI, its own build, and a caller that shares its namespaces and root", () => {
  expect(mismatch(process.pid, req, "leopard-oci", "1.000000001")).toBeUndefined();
  expect(mismatch(process.pid, req, "leopard", "1.000000001")).toBe("asked for leopard-oci");
  expect(mismatch(process.pid, req, "leopard-oci", "2.000000000")).toBe("another build of the CLI");
  expect(mismatch(2 ** 22 + 1, req, "leopard-oci", "1.000000001")).toBe("cannot compare the mnt namespace");
});

describe("a caller's privileges", () => {
  const worker: Standing = {
    effective: "000001ffffffffff",
    permitted: "000001ffffffffff",
    inheritable: "0000000000000000",
    bounding: "000001ffffffffff",
    ambient: "0000000000000000",
    noNewPrivs: "0",
    seccomp: "0",
    label: "",
    securebits: 0,
  };

  test("are served when every set, bit and label is the worker's", () => {
    expect(privilegesMismatch({ ...worker }, worker)).toBeUndefined();
  });

  test.each([
    [
      "effective",
      "0000000000000000",
      `the caller's effective capabilities are "0000000000000000", not the worker's "000001ffffffffff"`,
    ],
    [
      "permitted",
      "0000000000000001",
      `the caller's permitted capabilities are "0000000000000001", not the worker's "000001ffffffffff"`,
    ],
    [
      "inheritable",
      "0000000000000001",
      `the caller's inheritable capabilities are "0000000000000001", not the worker's "0000000000000000"`,
    ],
    [
      "bounding",
      "0000000000000000",
      `the caller's capability bounding set is "0000000000000000", not the worker's "000001ffffffffff"`,
    ],
    [
      "ambient",
      "0000000000000400",
      `the caller's ambient capabilities are "0000000000000400", not the worker's "0000000000000000"`,
    ],
    ["noNewPrivs", "1", `the caller's no_new_privs is "1", not the worker's "0"`],
    ["seccomp", "2", `the caller's seccomp mode is "2", not the worker's "0"`],
    ["label", "unconfined", `the caller's LSM label is "unconfined", not the worker's ""`],
  ] as const)("are declined when the %s set differs, naming both", (key, value, why) => {
    expect(privilegesMismatch({ ...worker, [key]: value }, worker)).toBe(why);
  });

  test("are declined for other securebits", () => {
    expect(privilegesMismatch({ ...worker, securebits: 0x4 }, worker)).toBe(
      "the caller's securebits are 0x4, not the worker's 0x0",
    );
  });

  test("are declined under a seccomp filter, even when the worker has one too", () => {
    const filtered = { ...worker, seccomp: "2" };
    expect(privilegesMismatch(filtered, filtered)).toBe(
      "the caller has a seccomp filter, which cannot be compared with the worker's",
    );
  });
});

describe("Remote.kill", () => {
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const msg = (...f: string[]) => enc.encode(`${f.join("\0")}\0`);
  const cleanup: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanup.splice(0)) c();
  });

  /**
   * A Remote whose launcher is this test, and the process it "started": a stopped sleep standing
   * in for whatever process has that pid. A stopped process keeps a SIGTERM pending (in
   * /proc/PID/status) instead of acting on it, so whether it was signalled can be read.
   */
  async function started() {
    const [worker, launcher] = socketPair();
    const stand = Bun.spawn(["sleep", "60"]);
    stand.kill("SIGSTOP");
    await until(() => processState(stand.pid) === "T");
    const remote = new Remote(worker);
    cleanup.push(() => {
      remote.close(); // its pump stops before the fd numbers are reused
      stand.kill("SIGKILL");
      closeFd(worker);
      closeFd(launcher);
    });
    sendMsg(launcher, msg("S", String(stand.pid))); // the reply the spawn waits for
    const child = remote.spawn(["/bin/true"], []);
    expect(dec.decode(recvMsg(launcher, 1000)?.data).split("\0")[0]).toBe("P");
    return { launcher, stand, child };
  }

  /** Whether a SIGTERM waits for pid (pending signals: the thread's and the process's). */
  const termPending = (pid: number) => {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const mask = (field: string) =>
      BigInt(`0x${status.match(new RegExp(`^${field}:\\s*([0-9a-f]+)$`, "m"))?.[1]}`);
    return ((mask("SigPnd") | mask("ShdPnd")) & (1n << 14n)) !== 0n;
  };

  test("asks the launcher to signal a child it has not reported ended, and signals nothing itself", async () => {
    const { launcher, stand, child } = await started();
    child.kill("SIGTERM");
    expect(dec.decode(recvMsg(launcher, 1000)?.data)).toBe(`K\0${stand.pid}\0${15}\0`);
    expect(termPending(stand.pid)).toBe(false);
  });

  test("spawn returns without waiting on the launcher's connection: the child's exit is read from the event loop", async () => {
    const [worker, launcher] = socketPair();
    const remote = new Remote(worker);
    cleanup.push(() => {
      remote.close();
      closeFd(worker);
      closeFd(launcher);
    });
    // Both replies queued before the call: "S" is what spawn waits for; "C" (the child ended) it
    // must leave for the pump, which runs once the caller yields, not inside spawn.
    sendMsg(launcher, msg("S", "4242"));
    sendMsg(launcher, msg("C", "4242", String(3 << 8)));
    const child = remote.spawn(["/bin/true"], []);
    expect(child.pid).toBe(4242);
    expect(waitReadable(worker, 0)).toBe(true); // "C" is still unread
    expect(await child.exited).toBe(3);
    expect(waitReadable(worker, 0)).toBe(false);
  });

  test("a program with a sealed image is executed through it: the image goes with the message and stays ours", async () => {
    const [worker, launcher] = socketPair();
    const [image, other] = socketPair(); // any open fd stands in for the image
    const remote = new Remote(worker, (program) => (program === "/h" ? image : undefined));
    cleanup.push(() => {
      remote.close();
      for (const fd of [worker, launcher, image, other]) closeFd(fd);
    });
    sendMsg(launcher, msg("S", "4243"));
    remote.spawn(["/h", "3"], ["inherit"]);
    const m = recvMsg(launcher, 1000);
    expect(dec.decode(m?.data).split("\0")).toEqual(["P", "2", "0", "c0", "x", "a0", "2", "/h", "3", ""]);
    expect(m?.fds.length).toBe(1);
    for (const fd of m?.fds ?? []) closeFd(fd);
    expect(waitReadable(image, 0)).toBe(false); // still open (a closed fd would poll as invalid)
    sendMsg(other, new Uint8Array([1]));
    expect(waitReadable(image, 0)).toBe(true);
    // Another program: no image, no exec entry.
    sendMsg(launcher, msg("S", "4244"));
    remote.spawn(["/bin/true"], ["inherit"]);
    expect(dec.decode(recvMsg(launcher, 1000)?.data).split("\0")).toEqual([
      "P",
      "1",
      "0",
      "c0",
      "1",
      "/bin/true",
      "",
    ]);
  });

  test("never signals a pid whose exit the launcher already reported (it may be another process's now)", async () => {
    const { launcher, stand, child } = await started();
    sendMsg(launcher, msg("C", String(stand.pid), "0"));
    expect(await child.exited).toBe(0);
    child.kill("SIGTERM");
    expect(waitReadable(launcher, 0)).toBe(false); // no "K" for it either
    expect(termPending(stand.pid)).toBe(false);
  });
});
