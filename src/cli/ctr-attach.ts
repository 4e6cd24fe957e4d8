// `leopard attach CONTAINER`: the terminal (or stdout/stderr, and stdin with -i) of a detached
// container, through conmon's attach socket as podman uses it: SOCK_SEQPACKET, each packet from
// conmon led by one byte naming the stream (2 stdout, 3 stderr), stdin written as is. Ctrl-P
// Ctrl-Q detaches and leaves the container running; the window size goes to conmon's ctl FIFO.
// When the container exits, attach exits with its status.
import { openSync, writeFileSync, writeSync } from "node:fs";
import { refresh, wait } from "../engine/lifecycle.ts";
import { closeFd, connectUnix, recvMsg, sendMsg, waitReadable } from "../sys/seqpacket.ts";
import { LeopardError } from "../util/errors.ts";
import { openEngine } from "./engine-common.ts";
import type { Verb } from "./image-common.ts";

const DETACH = "\x10\x11"; // ctrl-p ctrl-q
const O_PATH = 0o10000000;

export const attachVerb: Verb = {
  usage: "attach [--no-stdin] CONTAINER",
  options: { "no-stdin": { type: "boolean" } },
  args: ["CONTAINER"],
  run: async (g, v, a) => {
    const engine = openEngine(g);
    let sock: number;
    let tty: boolean;
    let bundle: string;
    let id: string;
    try {
      const c = await refresh(engine, engine.db.get(a[0] ?? ""));
      id = c.id;
      if (c.state !== "running" && c.state !== "paused")
        throw new LeopardError("bad-state", `container ${c.name} is not running`);
      if (c.foreground)
        throw new LeopardError("bad-state", `container ${c.name} runs in the foreground of another leopard`);
      bundle = engine.bundle(c.id);
      tty = c.config.tty;
      // Through /proc/self/fd: the bundle's path may be longer than a socket address allows.
      const dir = openSync(bundle, O_PATH);
      try {
        sock = connectUnix(`/proc/self/fd/${dir}/attach`, "seqpacket");
      } finally {
        closeFd(dir);
      }
    } finally {
      engine.close();
    }
    const stdinOn = v["no-stdin"] !== true;
    const isTty = tty && process.stdin.isTTY === true;
    if (isTty) {
      process.stdin.setRawMode(true);
      const cols = process.stdout.columns;
      const rows = process.stdout.rows;
      if (cols && rows) {
        try {
          writeFileSync(`${bundle}/ctl`, `1 ${rows} ${cols}\n`);
        } catch {
          // conmon's control file is gone (the container exited): no terminal to resize.
        }
      }
    }
    let detached = false;
    const onData = (d: Buffer) => {
      const text = d.toString("latin1");
      if (isTty && text.includes(DETACH)) {
        detached = true;
        return;
      }
      try {
        sendMsg(sock, d);
      } catch {
        // The attach socket closed (the container exited): the output loop below sees the end.
      }
    };
    if (stdinOn) process.stdin.on("data", onData);
    try {
      for (;;) {
        // As docker: detaching is reported, with status 1.
        if (detached) {
          process.stderr.write("read escape sequence\n");
          return 1;
        }
        if (!waitReadable(sock, 0)) {
          await Bun.sleep(10);
          continue;
        }
        const m = recvMsg(sock, 0);
        if (m === null || m.data.length === 0) break;
        const stream = m.data[0];
        const body = m.data.subarray(1);
        writeSync(stream === 3 ? 2 : 1, body);
      }
    } finally {
      if (stdinOn) {
        process.stdin.off("data", onData);
        process.stdin.pause();
      }
      if (isTty) process.stdin.setRawMode(false);
      closeFd(sock);
    }
    // The container's output ended: it exited. As docker's and podman's, attach returns its status.
    const after = openEngine(g);
    try {
      return await wait(after, after.db.get(id));
    } finally {
      after.close();
    }
  },
};
