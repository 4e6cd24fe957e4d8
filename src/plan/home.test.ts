import { describe, expect, test } from "bun:test";
import { passwdHome, withHome } from "./home.ts";

const PASSWD = [
  "root:x:0:0:root:/root:/bin/sh",
  "user:x:1000:1000:user:/home/user:/bin/sh",
  "again:x:1000:1000::/elsewhere:/bin/sh",
  "broken line",
  "",
].join("\n");

describe("HOME from the container's /etc/passwd, as runc sets it", () => {
  test("the first entry with the uid gives the home directory", () => {
    expect(passwdHome(PASSWD, 0)).toBe("/root");
    expect(passwdHome(PASSWD, 1000)).toBe("/home/user");
  });

  test("an unknown uid, or no /etc/passwd at all, gets /", () => {
    expect(passwdHome(PASSWD, 4242)).toBe("/");
    expect(passwdHome(undefined, 0)).toBe("/");
  });

  test("HOME is added to an environment without one, and an empty HOME is replaced", () => {
    expect(withHome(["PATH=/bin"], "/root")).toEqual(["PATH=/bin", "HOME=/root"]);
    expect(withHome(["HOME=", "PATH=/bin"], "/root")).toEqual(["PATH=/bin", "HOME=/root"]);
  });

  test("a HOME the process already has is kept", () => {
    expect(withHome(["HOME=/data", "PATH=/bin"], "/root")).toEqual(["HOME=/data", "PATH=/bin"]);
  });
});
