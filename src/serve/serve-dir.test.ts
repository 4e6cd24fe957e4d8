import { expect, test } from "bun:test";
import { defaultServeDir, INITIAL_USERNS_INO, type ServeDirFacts } from "./serve-dir.ts";

const INIT = INITIAL_USERNS_INO;
const cases: [string, ServeDirFacts, string | undefined][] = [
  ["root of the host", { env: {}, euid: 0, usernsIno: INIT }, "/run/leopard-serve"],
  [
    "root of the host ignores XDG_RUNTIME_DIR",
    { env: { XDG_RUNTIME_DIR: "/run/user/0" }, euid: 0, usernsIno: INIT },
    "/run/leopard-serve",
  ],
  [
    "LEOPARD_SERVE_DIR wins",
    { env: { LEOPARD_SERVE_DIR: "/tmp/s", XDG_RUNTIME_DIR: "/run/user/5" }, euid: 5, usernsIno: INIT },
    "/tmp/s",
  ],
  [
    "a user: $XDG_RUNTIME_DIR/leopard-serve",
    { env: { XDG_RUNTIME_DIR: "/run/user/1000/" }, euid: 1000, usernsIno: INIT },
    "/run/user/1000/leopard-serve",
  ],
  [
    "uid 0 in another user namespace (rootless podman): a directory of that namespace",
    { env: { XDG_RUNTIME_DIR: "/run/user/1000" }, euid: 0, usernsIno: 4026532500 },
    "/run/user/1000/leopard-serve/userns-4026532500",
  ],
  ["a user without XDG_RUNTIME_DIR: none", { env: {}, euid: 1000, usernsIno: INIT }, undefined],
  [
    "a relative XDG_RUNTIME_DIR is ignored",
    { env: { XDG_RUNTIME_DIR: "run/user/1000" }, euid: 1000, usernsIno: INIT },
    undefined,
  ],
  [
    "no /proc (inode 0) is not the initial namespace",
    { env: { XDG_RUNTIME_DIR: "/run/user/0" }, euid: 0, usernsIno: 0 },
    "/run/user/0/leopard-serve/userns-0",
  ],
];

for (const [name, facts, want] of cases) test(name, () => expect(defaultServeDir(facts)).toBe(want));
