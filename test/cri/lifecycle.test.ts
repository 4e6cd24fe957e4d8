// A pod's lifecycle through containerd's CRI plugin, as kubelet drives it, under the runc handler
// and the leopard handler (bin/leopard-oci), with the same observable results: the states and
// exit codes containerd reports, the grace period of StopContainer, ExecSync, the CRI log
// format, and nothing left behind once the pod is removed.
import { describe, test } from "bun:test";
import { CONTAINERD, RUNC } from "./env.ts";
import {
  container,
  criSuite,
  exited,
  leftovers,
  logLines,
  removePod,
  runPod,
  sh,
  status,
} from "./harness.ts";

describe.skipIf(!CONTAINERD || !RUNC)("CRI: a pod's lifecycle under the runc and leopard handlers", () => {
  const suite = criSuite("CRI lifecycle");

  test("RunPodSandbox, CreateContainer, StartContainer, ExecSync, StopContainer with its grace period, the log, and removal leave nothing behind", async () => {
    await suite.both(
      "pod lifecycle",
      {
        pod: "SANDBOX_READY",
        ipInSubnet: true,
        netnsUnderState: true,
        veths: 1,
        created: "CONTAINER_CREATED",
        running: "CONTAINER_RUNNING",
        exec: { out: "out\n", err: "err\n", code: 5 },
        execTimeout: "4: timeout",
        stopped: { state: "CONTAINER_EXITED", exit: 3, reason: "Error", message: "" },
        log: ["stderr F to stderr", "stdout F term", "stdout F to stdout"],
        podAfterStop: "SANDBOX_NOTREADY",
        left: [] as string[],
      },
      async (h) => {
        const env = suite.env();
        const { cri } = env;
        const pod = await runPod(env, h, "life");
        const ps = await cri.call("PodSandboxStatus", { pod_sandbox_id: pod.id });
        // sh is PID 1: it handles TERM by its trap (exit 3), within the grace period.
        const id = await container(
          env,
          pod,
          {
            metadata: { name: "main" },
            image: { image: env.images.busybox },
            command: ["sh", "-c"],
            args: ["echo to stdout; echo to stderr >&2; trap 'echo term; exit 3' TERM; sleep 1000 & wait"],
          },
          { start: false },
        );
        const created = (await status(cri, id)).state;
        await cri.call("StartContainer", { container_id: id });
        const running = (await status(cri, id)).state;
        const exec = await sh(cri, id, "echo out; echo err >&2; exit 5");
        let execTimeout = "no error";
        try {
          await sh(cri, id, "sleep 30", 1);
        } catch (e) {
          execTimeout =
            e instanceof Error && "code" in e
              ? `${e.code}: ${/timeout/.test(e.message) ? "timeout" : e.message}`
              : String(e);
        }
        await cri.call("StopContainer", { container_id: id, timeout: 30 });
        const s = await exited(cri, id);
        const log = logLines(env, pod, "main");
        await cri.call("RemoveContainer", { container_id: id });
        await cri.call("StopPodSandbox", { pod_sandbox_id: pod.id });
        const stoppedPod = await cri.call("PodSandboxStatus", { pod_sandbox_id: pod.id });
        await cri.call("RemovePodSandbox", { pod_sandbox_id: pod.id });
        return {
          pod: ps.status?.state ?? "none",
          ipInSubnet: (ps.status?.network?.ip ?? "").startsWith(`${env.subnetPrefix}.`),
          netnsUnderState: pod.netns.startsWith(`${env.netnsDir}/`),
          veths: pod.veths.length,
          created,
          running,
          exec,
          execTimeout,
          stopped: { state: s.state, exit: s.exit_code, reason: s.reason, message: s.message },
          log,
          podAfterStop: stoppedPod.status?.state ?? "none",
          left: await leftovers(env, pod),
        };
      },
    );
  });

  test("a container that exits at once, and one that ignores SIGTERM until the grace period ends", async () => {
    await suite.both(
      "exits",
      {
        atOnce: { state: "CONTAINER_EXITED", exit: 0, reason: "Completed", message: "" },
        ignoresTerm: { state: "CONTAINER_EXITED", exit: 137, reason: "Error", message: "" },
        stillRunningAfterTerm: true,
        left: [] as string[],
      },
      async (h) => {
        const env = suite.env();
        const { cri } = env;
        const pod = await runPod(env, h, "exits");
        const image = { image: env.images.busybox };
        const quick = await container(env, pod, { metadata: { name: "quick" }, image, command: ["true"] });
        const q = await exited(cri, quick);
        // TERM ignored (inherited by sleep): StopContainer's grace period ends in SIGKILL.
        const stubborn = await container(env, pod, {
          metadata: { name: "stubborn" },
          image,
          command: ["sh", "-c", "trap '' TERM; sleep 1000 & wait"],
        });
        const stop = cri.call("StopContainer", { container_id: stubborn, timeout: 2 });
        await Bun.sleep(1000);
        const stillRunningAfterTerm = (await status(cri, stubborn)).state === "CONTAINER_RUNNING";
        await stop;
        const k = await exited(cri, stubborn);
        const brief = (s: typeof q) => ({
          state: s.state,
          exit: s.exit_code,
          reason: s.reason,
          message: s.message,
        });
        return {
          atOnce: brief(q),
          ignoresTerm: brief(k),
          stillRunningAfterTerm,
          left: await removePod(env, pod),
        };
      },
    );
  });

  test("ListPodSandbox shows each pod with its handler", async () => {
    await suite.both(
      "handler listed",
      { ownHandler: true, state: "SANDBOX_READY", left: [] as string[] },
      async (h) => {
        const env = suite.env();
        const pod = await runPod(env, h, "listed");
        const item = (await env.cri.call("ListPodSandbox", { filter: { id: pod.id } })).items[0];
        return {
          ownHandler: item?.runtime_handler === h,
          state: item?.state ?? "none",
          left: await removePod(env, pod),
        };
      },
    );
  });
});
