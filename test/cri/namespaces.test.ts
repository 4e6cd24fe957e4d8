// How a pod's containers share namespaces, under the runc and leopard handlers: containerd joins
// the sandbox's network, IPC and UTS namespaces by path (/proc/<pause>/ns/…), the PID namespace
// too with namespace_options.pid = POD, and the host's with hostNetwork/hostPID/hostIPC (NODE).
import { describe, test } from "bun:test";
import { readlinkSync } from "node:fs";
import { CONTAINERD, RUNC } from "./env.ts";
import { container, criSuite, out, removePod, runPod } from "./harness.ts";

const NS = ["net", "ipc", "uts", "pid"] as const;
const SLEEP = ["sleep", "1000"];

describe.skipIf(!CONTAINERD || !RUNC)("CRI: namespaces under the runc and leopard handlers", () => {
  const suite = criSuite("CRI namespaces");

  /** The container's namespaces, as a process ExecSync starts in it has them. */
  async function namespaces(id: string): Promise<Record<(typeof NS)[number], string>> {
    const { cri } = suite.env();
    const r = await out(cri, id, NS.map((n) => `readlink /proc/self/ns/${n}`).join("; "));
    const [net = "", ipc = "", uts = "", pid = ""] = r.split("\n");
    return { net, ipc, uts, pid };
  }

  test("two containers in one pod share the pause's network, IPC and UTS namespaces; each has its own PID namespace", async () => {
    await suite.both(
      "pod namespaces",
      {
        sameAsPause: { net: true, ipc: true, uts: true, pid: false },
        sameAsEachOther: { net: true, ipc: true, uts: true, pid: false },
        hostname: "shared-h",
        shmSeen: "from-one",
        pid1: "sleep",
        left: [] as string[],
      },
      async (h) => {
        const env = suite.env();
        const pod = await runPod(env, h, "shared");
        const image = { image: env.images.busybox };
        const a = await container(env, pod, { metadata: { name: "a" }, image, command: SLEEP });
        const b = await container(env, pod, { metadata: { name: "b" }, image, command: SLEEP });
        const pause = pod.pids[0] ?? 0;
        const ns = (n: string) => readlinkSync(`/proc/${pause}/ns/${n}`);
        const [na, nb] = [await namespaces(a), await namespaces(b)];
        // IPC: a file in /dev/shm written by one is read by the other (the pod's shm mount).
        await out(env.cri, a, "echo from-one > /dev/shm/x");
        const result = {
          sameAsPause: {
            net: na.net === ns("net"),
            ipc: na.ipc === ns("ipc"),
            uts: na.uts === ns("uts"),
            pid: na.pid === ns("pid"),
          },
          sameAsEachOther: {
            net: na.net === nb.net,
            ipc: na.ipc === nb.ipc,
            uts: na.uts === nb.uts,
            pid: na.pid === nb.pid,
          },
          hostname: (await out(env.cri, b, "hostname")).replace(/-(runc|leopard)$/, "-h"),
          shmSeen: await out(env.cri, b, "cat /dev/shm/x"),
          pid1: await out(env.cri, b, "cat /proc/1/comm"),
          left: await removePod(env, pod),
        };
        return result;
      },
    );
  });

  test("a pod with a shared PID namespace (pid = POD): the pause is PID 1 and each container sees the other's processes", async () => {
    await suite.both(
      "shared PID namespace",
      { pid1: "pause", seesOther: true, samePidNs: true, left: [] as string[] },
      async (h) => {
        const env = suite.env();
        const pod = await runPod(env, h, "pidpod", {
          linux: { security_context: { namespace_options: { pid: "POD" } } },
        });
        const image = { image: env.images.busybox };
        const a = await container(env, pod, { metadata: { name: "a" }, image, command: ["sleep", "1001"] });
        const b = await container(env, pod, { metadata: { name: "b" }, image, command: ["sleep", "1002"] });
        const psA = await out(env.cri, a, "ps -o args");
        return {
          pid1: await out(env.cri, b, "cat /proc/1/comm"),
          seesOther: psA.includes("sleep 1002"),
          samePidNs: (await namespaces(a)).pid === (await namespaces(b)).pid,
          left: await removePod(env, pod),
        };
      },
    );
  });

  test("hostNetwork, hostPID and hostIPC pods use the node's namespaces", async () => {
    const host = (n: string) => readlinkSync(`/proc/self/ns/${n}`);
    await suite.both(
      "host namespaces",
      { net: true, pid: true, ipc: true, uts: true, seesTestProcess: true, noVeth: 0, left: [] as string[] },
      async (h) => {
        const env = suite.env();
        // kubelet sends no hostname for a hostNetwork pod (the runtimes refuse one without a UTS namespace).
        const pod = await runPod(env, h, "hostns", {
          hostname: "",
          linux: { security_context: { namespace_options: { network: "NODE", pid: "NODE", ipc: "NODE" } } },
        });
        const c = await container(env, pod, {
          metadata: { name: "c" },
          image: { image: env.images.busybox },
          command: SLEEP,
        });
        const ns = await namespaces(c);
        return {
          net: ns.net === host("net"),
          pid: ns.pid === host("pid"),
          ipc: ns.ipc === host("ipc"),
          // hostNetwork brings the host's UTS namespace too (the node's hostname).
          uts: ns.uts === host("uts"),
          seesTestProcess: (await out(env.cri, c, `test -d /proc/${process.pid} && echo yes`)) === "yes",
          noVeth: pod.veths.length,
          left: await removePod(env, pod),
        };
      },
    );
  });
});
