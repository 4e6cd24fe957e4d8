import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { processStartTime } from "../sys/proc.ts";
import { OCI_VERSION, StateDir, type StoredState } from "./state.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function stateDir(): StateDir {
  const d = mkdtempSync(join(tmpdir(), "leopard-state-"));
  dirs.push(d);
  return new StateDir(d);
}

function record(id: string, extra: Partial<StoredState> = {}): StoredState {
  return {
    ociVersion: OCI_VERSION,
    id,
    pid: 0,
    pidStartTime: "",
    bundle: "/b",
    rootfs: "/b/rootfs",
    created: "2025-01-01T00:00:00.000Z",
    owner: "",
    annotations: {},
    ownPidNamespace: true,
    ...extra,
  };
}

describe("the state directory", () => {
  test("claim makes the directory with the first record in it, and refuses a taken id", () => {
    const st = stateDir();
    st.claim(record("c1", { cgroupPaths: { "": "/leopard/c1" } }));
    expect(JSON.parse(readFileSync(`${st.dir("c1")}/state.json`, "utf8")).cgroupPaths).toEqual({
      "": "/leopard/c1",
    });
    expect(() => st.claim(record("c1"))).toThrow('container "c1" already exists');
  });

  test("a directory without state.json is a stopped container with nothing recorded", () => {
    const st = stateDir();
    mkdirSync(st.dir("half"));
    const s = st.read("half");
    expect(st.public(s)).toMatchObject({ id: "half", pid: 0, status: "stopped", bundle: "" });
    expect(Number.isNaN(Date.parse(s.created))).toBe(false);
    expect(st.ids()).toEqual(["half"]);
  });

  test("ids are the directories named like an id; files and missing ids are not containers", () => {
    const st = stateDir();
    st.claim(record("c1"));
    writeFileSync(`${st.root}/stray`, "");
    mkdirSync(`${st.root}/not an id`);
    expect(st.ids()).toEqual(["c1"]);
    expect(() => st.read("stray")).toThrow('container "stray" does not exist');
    expect(() => st.read("c2")).toThrow('container "c2" does not exist');
  });

  test("pid 0 is creating while its creator runs, stopped once the creator's pid is another process", () => {
    const st = stateDir();
    const me = { creatorPid: process.pid, creatorStartTime: processStartTime(process.pid) ?? "" };
    expect(st.status(record("c1", me))).toBe("creating");
    expect(st.status(record("c1", { ...me, creatorStartTime: "1" }))).toBe("stopped");
    expect(st.status(record("c1"))).toBe("stopped");
  });
});
