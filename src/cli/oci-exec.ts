// `leopard-oci exec [flags] ID [COMMAND ARGS...]`: its flags; ./exec.ts runs it.
import { count } from "./oci-create.ts";
import type { Verb } from "./oci-main.ts";

export const execVerb: Verb = {
  usage:
    "exec [--process F | -t --cwd D -e K=V -u UID[:GID] -g GID -c CAP --no-new-privs] [-d] [--pid-file F] [--console-socket S] [--preserve-fds N] [--ignore-paused] ID [COMMAND ARGS...]",
  options: {
    process: {
      type: "string",
      short: "p",
      value: "FILE",
      help: "the process to run, as config.json's process object",
    },
    tty: { type: "boolean", short: "t", help: "give the process a terminal" },
    cwd: { type: "string", value: "DIR", help: "the working directory inside the container" },
    env: { type: "string", short: "e", multiple: true, value: "K=V", help: "an environment variable" },
    user: { type: "string", short: "u", value: "UID[:GID]", help: "the user (and group) to run as" },
    "additional-gids": {
      type: "string",
      short: "g",
      multiple: true,
      value: "GID",
      help: "a supplementary group",
    },
    cap: {
      type: "string",
      short: "c",
      multiple: true,
      value: "CAP",
      help: "a capability to add (never inheritable beyond the container's)",
    },
    "no-new-privs": { type: "boolean", help: "set no_new_privs for the process" },
    apparmor: { type: "string", value: "PROFILE", help: "the AppArmor profile for the process" },
    "process-label": { type: "string", value: "LABEL", help: "the SELinux label for the process" },
    detach: { type: "boolean", short: "d", help: "start the process and return; do not wait for it" },
    "pid-file": { type: "string", value: "FILE", help: "write the process's pid to FILE" },
    "console-socket": {
      type: "string",
      value: "SOCKET",
      help: "send the terminal's master fd to this unix socket (with -t)",
    },
    "preserve-fds": { type: "string", value: "N", help: "pass the caller's fds 3 to 3+N-1 to the process" },
    "ignore-paused": { type: "boolean", help: "exec even when the container is paused" },
    cgroup: {
      type: "string",
      multiple: true,
      value: "[CTRL:]PATH",
      help: "run in this sub-cgroup of the container's",
    },
    explain: { type: "boolean", help: "print the plan as shell steps, then each step's time" },
  },
  args: ["id"],
  rest: true,
  async run(g, v, [id], rest) {
    const exec = await import("./exec.ts");
    return exec.execVerb(g.root, v, id!, rest, count(v["preserve-fds"], "preserve-fds"));
  },
};
