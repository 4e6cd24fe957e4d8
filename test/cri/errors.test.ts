// Bad input the CRI path can send, under the runc and leopard handlers: the same kind of error
// through containerd, the same container status, and nothing left behind.
//   a command that is not in the image, and an image whose entrypoint is missing: the runtime's
//     create fails, StartContainer fails, the status is StartError with exit code 128
//   runAsUsername with no such user, a seccomp Localhost profile that does not exist: containerd
//     refuses CreateContainer before any runtime is called
import { describe, test } from "bun:test";
import { CONTAINERD, RUNC } from "./env.ts";
import {
  type ContainerConfig,
  type CriEnv,
  container,
  criSuite,
  errorText,
  exited,
  type Pod,
  removePod,
  runPod,
  status,
} from "./harness.ts";

interface Attempt {
  failed: string;
  error?: string;
  status?: { state: string; exit: number; reason: string; message: string };
}

/** Creates and starts the container; what failed, and the status containerd then reports. */
async function attempt(env: CriEnv, pod: Pod, config: ContainerConfig): Promise<Attempt> {
  let id = "";
  try {
    id = await container(env, pod, config, { start: false });
  } catch (e) {
    return { failed: "CreateContainer", error: errorText(e, env, pod) };
  }
  try {
    await env.cri.call("StartContainer", { container_id: id });
    const s = await exited(env.cri, id);
    return {
      failed: "nothing",
      status: { state: s.state, exit: s.exit_code, reason: s.reason, message: s.message },
    };
  } catch (e) {
    const s = await status(env.cri, id);
    return {
      failed: "StartContainer",
      error: kind(errorText(e, env, pod)),
      status: { state: s.state, exit: s.exit_code, reason: s.reason, message: kind(s.message) },
    };
  }
}

/** The part of a runtime's create error both runtimes must give: what was missing, and how. */
function kind(message: string): string {
  const path = /"?(\/no-such[\w/-]*)"?/.exec(message)?.[1] ?? "no path";
  const how = /no such file or directory/i.test(message) ? "no such file or directory" : message;
  return `${path}: ${how}`;
}

describe.skipIf(!CONTAINERD || !RUNC)("CRI: bad input under the runc and leopard handlers", () => {
  const suite = criSuite("CRI bad input");

  // runc looks the command up in `create` (runc init, before the exec fifo), so containerd's task
  // creation fails and the container is StartError/128 with runc's message; leopard-oci checks it
  // at the same point (CHECK_EXEC before WAIT_START).
  test("a missing binary and a missing image entrypoint: StartError with exit code 128 under runc", async () => {
    const noFile = (path: string) => `${path}: no such file or directory`;
    const startError = (path: string): Attempt => ({
      failed: "StartContainer",
      error: noFile(path),
      status: { state: "CONTAINER_EXITED", exit: 128, reason: "StartError", message: noFile(path) },
    });
    await suite.both(
      "cannot start",
      {
        command: startError("/no-such-binary"),
        entrypoint: startError("/no-such-entrypoint"),
        left: [] as string[],
      },
      async (h) => {
        const env = suite.env();
        const pod = await runPod(env, h, "nostart");
        const command = await attempt(env, pod, {
          metadata: { name: "command" },
          image: { image: env.images.busybox },
          command: ["/no-such-binary"],
        });
        const entrypoint = await attempt(env, pod, {
          metadata: { name: "entrypoint" },
          image: { image: env.images.noentry },
        });
        return { command, entrypoint, left: await removePod(env, pod) };
      },
    );
  });

  test("runAsUsername with no such user and a missing seccomp Localhost profile are refused at CreateContainer", async () => {
    await suite.both<Record<string, Attempt | string[]>>(
      "refused at create",
      {
        user: {
          failed: "CreateContainer",
          error:
            "2: failed to create containerd container: mount callback failed on <dir>/root/tmpmounts/containerd-mount<n>: no users found",
        },
        seccomp: {
          failed: "CreateContainer",
          error:
            '2: failed to create containerd container: cannot load seccomp profile "<dir>/no-such-profile.json": open <dir>/no-such-profile.json: no such file or directory',
        },
        left: [] as string[],
      },
      async (h) => {
        const env = suite.env();
        const pod = await runPod(env, h, "refused");
        const image = { image: env.images.busybox };
        const user = await attempt(env, pod, {
          metadata: { name: "user" },
          image,
          command: ["true"],
          linux: { security_context: { run_as_username: "no-such-user" } },
        });
        const seccomp = await attempt(env, pod, {
          metadata: { name: "seccomp" },
          image,
          command: ["true"],
          linux: {
            security_context: {
              seccomp: { profile_type: "Localhost", localhost_ref: `${env.dir}/no-such-profile.json` },
            },
          },
        });
        return { user, seccomp, left: await removePod(env, pod) };
      },
    );
  });
});
