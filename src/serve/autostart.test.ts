import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type AutostartFacts,
  autostartArgv,
  autostartEnv,
  autostartSocket,
  nobodyListens,
} from "./autostart.ts";
import { INITIAL_USERNS_INO } from "./serve-dir.ts";

const podman: AutostartFacts = {
  env: { XDG_RUNTIME_DIR: "/run/user/1000" },
  euid: 0,
  usernsIno: 4026532999,
  verb: "start",
  code: 0,
  bundled: true,
};
const SOCKET = "/run/user/1000/leopard-serve/userns-4026532999/leopard-oci.sock";

const cases: [string, Partial<AutostartFacts>, string | undefined][] = [
  ["a direct start under rootless podman: its namespace's socket", {}, SOCKET],
  ["not after another verb", { verb: "delete" }, undefined],
  ["not after a failed start", { code: 1 }, undefined],
  ["not from the TypeScript sources (the launcher serves only bundles)", { bundled: false }, undefined],
  ["not with LEOPARD_SERVE=0", { env: { ...podman.env, LEOPARD_SERVE: "0" } }, undefined],
  ["not with LEOPARD_SERVE=1 either", { env: { ...podman.env, LEOPARD_SERVE: "1" } }, undefined],
  [
    "not with LEOPARD_SERVE_DIR (a server chosen)",
    { env: { ...podman.env, LEOPARD_SERVE_DIR: "/x" } },
    undefined,
  ],
  [
    "not in the initial user namespace (systemd's units serve it)",
    { usernsIno: INITIAL_USERNS_INO },
    undefined,
  ],
  ["not for a user in the initial namespace", { euid: 1000, usernsIno: INITIAL_USERNS_INO }, undefined],
  ["not for a non-zero uid in a namespace", { euid: 1000 }, undefined],
  ["not when the namespace cannot be read", { usernsIno: 0 }, undefined],
  ["not without XDG_RUNTIME_DIR", { env: {} }, undefined],
];
for (const [name, change, want] of cases)
  test(name, () => expect(autostartSocket({ ...podman, ...change })).toBe(want));

test("the server's command line: the whole CLI's serve with an idle exit", () => {
  expect(autostartArgv("/p/lib/leopard/bun", "/p/lib/leopard/leopard-oci.js", SOCKET)).toEqual([
    "/p/lib/leopard/bun",
    "--no-env-file",
    "--config=/dev/null",
    "/p/lib/leopard/leopard-oci.js",
    "serve",
    "--socket",
    SOCKET,
    "--idle-exit",
    "120",
  ]);
});

test("the server's environment: the call's, without systemd's per-call variables", () => {
  expect(
    autostartEnv({
      PATH: "/bin",
      NOTIFY_SOCKET: "/n",
      LISTEN_FDS: "1",
      LISTEN_PID: "9",
      LISTEN_FDNAMES: "x",
      U: undefined,
    }),
  ).toEqual({ PATH: "/bin" });
});

test("nobodyListens: a missing socket and a stale one, not a live one", () => {
  const dir = mkdtempSync(join(tmpdir(), "leopard-autostart-"));
  try {
    const path = join(dir, "s.sock");
    expect(nobodyListens(path)).toBe(true);
    const live = Bun.listen({ unix: path, socket: { data() {} } });
    // Bun listens with SOCK_STREAM: a seqpacket connect to it is refused with EPROTOTYPE, not
    // "nobody": only ENOENT and ECONNREFUSED count as nobody.
    expect(nobodyListens(path)).toBe(false);
    live.stop(true);
    // Stopped, the socket file stays: stale, connect is refused.
    expect(existsSync(path)).toBe(true);
    expect(nobodyListens(path)).toBe(true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
