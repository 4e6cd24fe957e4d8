import { describe, expect, test } from "bun:test";
import { openSync } from "node:fs";
import { containerProcessState, handOverListener, SeccompAgent } from "./seccomp-listener.ts";

const ctx = {
  ociVersion: "1.2.0",
  id: "c1",
  status: "creating",
  initPid: 4422,
  bundle: "/containers/redis",
  annotations: { myKey: "myValue" },
};

describe("the container process state sent with a listener", () => {
  test("has the runtime-spec's fields: the fd names, the process, the metadata and the container's state", () => {
    expect(containerProcessState({ listenerMetadata: "MKNOD=/dev/null" }, ctx, 4422)).toEqual({
      ociVersion: "1.2.0",
      fds: ["seccompFd"],
      pid: 4422,
      metadata: "MKNOD=/dev/null",
      state: {
        ociVersion: "1.2.0",
        id: "c1",
        status: "creating",
        pid: 4422,
        bundle: "/containers/redis",
        annotations: { myKey: "myValue" },
      },
    });
  });

  test("for an exec, pid is the exec'd process and state.pid the container's init", () => {
    const s = containerProcessState({ listenerMetadata: undefined }, { ...ctx, status: "running" }, 5000);
    expect(s.pid).toBe(5000);
    expect(s.state).toMatchObject({ status: "running", pid: 4422 });
  });

  test("metadata and empty annotations are left out when there are none", () => {
    const s = containerProcessState({ listenerMetadata: undefined }, { ...ctx, annotations: {} }, 4422);
    expect(Object.keys(s)).toEqual(["ociVersion", "fds", "pid", "state"]);
    expect(Object.keys(s.state)).not.toContain("annotations");
  });
});

describe("the agent connection", () => {
  test("is made only for a filter with a listener", () => {
    expect(SeccompAgent.connect({ listenerPath: "/nonexistent/agent.sock" }, false)).toBeUndefined();
    expect(SeccompAgent.connect(undefined, true)).toBeUndefined();
  });

  test("a listenerPath nobody listens on is one sentence naming it", () => {
    expect(() => SeccompAgent.connect({ listenerPath: "/nonexistent/agent.sock" }, true)).toThrow(
      'cannot connect to seccomp listenerPath "/nonexistent/agent.sock": no such file or directory',
    );
  });

  test("a listener sync must carry exactly one fd, and every fd it carried is closed", () => {
    const fds = [openSync("/dev/null", "r"), openSync("/dev/null", "r")];
    expect(() => handOverListener(fds, () => {})).toThrow(
      "the helper sent 2 fds with the seccomp listener sync, not 1",
    );
    expect(() => handOverListener([], () => {})).toThrow("the helper sent 0 fds");
    for (const fd of fds) expect(() => openSync(`/proc/self/fd/${fd}`, "r")).toThrow();
  });
});
