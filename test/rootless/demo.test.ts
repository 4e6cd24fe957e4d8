// `make demo` run by an ordinary user with subordinate ids: the seed's walkthrough, rootless. It
// says which steps differ from the root demo, root inside is the user and 1… its subordinate ids,
// and nothing of the container is left in its state directory afterwards.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cannotRun, makeRootlessUser, type RootlessUser, TOP } from "./harness.ts";

const why = cannotRun() ?? (Bun.which("make") ? undefined : "make is not installed");
let user: RootlessUser;

beforeAll(() => {
  if (!why) user = makeRootlessUser();
});

afterAll(() => {
  if (why) return;
  const left = user.cleanup();
  expect(left).toEqual([]);
});

describe.skipIf(why !== undefined)("make demo as an ordinary user", () => {
  test("the walkthrough runs rootless, names what differs, and leaves no container", () => {
    const r = user.run(["make", "-s", "demo"], {
      cwd: TOP,
      stdin: "hostname; tr -s ' ' < /proc/self/uid_map; id -u; exit 0\n",
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("rootless: what differs from the root demo:");
    expect(r.stdout).toContain(
      `root in the container is you (uid ${user.uid}); ids 1… are your /etc/subuid range`,
    );
    expect(r.stdout).toContain(`leopard\n 0 ${user.uid} 1\n 1 ${user.sub.start} ${user.sub.count}\n0\n`);
    expect(user.run(["ls", "-A", `${user.home}/.cache/leopard-demo/state`]).stdout).toBe("");
  });
});
