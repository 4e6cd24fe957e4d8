// The tree copy on plain directories (no container): a "root" side resolves beneath its root,
// links are copied as links, a link planted in the destination is replaced rather than written
// through, and a failed copy leaves nothing behind. Runs as any user (owners are the caller's).
import { afterAll, expect, test } from "bun:test";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LeopardError } from "../util/errors.ts";
import { type CopyOptions, copyTree } from "./copy.ts";

const base = mkdtempSync(join(tmpdir(), "leopard-copy-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => {
  const d = join(base, String(n++));
  mkdirSync(d);
  return d;
};

function opts(warnings: string[] = [], extra: Partial<CopyOptions> = {}): CopyOptions {
  return {
    archive: false,
    followLink: false,
    owner: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 },
    dropSetid: true,
    warn: (m) => warnings.push(m),
    ...extra,
  };
}

/** A small "container root": /etc/passwd, a link to "/", a tree with a link inside. */
function root(): string {
  const r = fresh();
  mkdirSync(join(r, "etc"));
  writeFileSync(join(r, "etc/passwd"), "container passwd\n");
  symlinkSync("/", join(r, "escape"));
  mkdirSync(join(r, "tree/sub"), { recursive: true });
  writeFileSync(join(r, "tree/sub/f"), "deep\n", { mode: 0o640 });
  utimesSync(join(r, "tree/sub/f"), 1_000_000, 1_000_000);
  symlinkSync("/etc/shadow", join(r, "tree/link"));
  return r;
}

test("out of a root: a tree with its modes and times, links as links, a link to / resolved inside the root", async () => {
  const r = root();
  const out = fresh();
  await copyTree({ root: r, path: "/tree" }, { path: join(out, "t") }, opts());
  expect(readFileSync(join(out, "t/sub/f"), "utf8")).toBe("deep\n");
  expect(lstatSync(join(out, "t/sub/f")).mode & 0o7777).toBe(0o640);
  expect(lstatSync(join(out, "t/sub/f")).mtimeMs).toBe(1_000_000_000);
  expect(readlinkSync(join(out, "t/link"))).toBe("/etc/shadow");
  await copyTree({ root: r, path: "/escape/etc/passwd" }, { path: out }, opts());
  expect(readFileSync(join(out, "passwd"), "utf8")).toBe("container passwd\n");
  // No temporary names left.
  expect(readdirSync(out).sort()).toEqual(["passwd", "t"]);
});

test("SRC a link: copied as the link, or followed inside the root with -L", async () => {
  const r = root();
  const out = fresh();
  await copyTree({ root: r, path: "/escape" }, { path: join(out, "l") }, opts());
  expect(readlinkSync(join(out, "l"))).toBe("/");
  symlinkSync("/etc/passwd", join(r, "pw"));
  await copyTree({ root: r, path: "/pw" }, { path: join(out, "pw") }, opts([], { followLink: true }));
  expect(readFileSync(join(out, "pw"), "utf8")).toBe("container passwd\n");
});

test("into a root: DEST links resolve inside it; a link in the way is replaced, never written through", async () => {
  const r = root();
  const host = fresh();
  writeFileSync(join(host, "in.txt"), "from host\n");
  const outside = fresh();
  // /etcdir -> /etc inside the root: "into" the root's /etc, not the host's.
  symlinkSync("/etc", join(r, "etcdir"));
  await copyTree({ path: join(host, "in.txt") }, { root: r, path: "/etcdir/" }, opts());
  expect(readFileSync(join(r, "etc/in.txt"), "utf8")).toBe("from host\n");
  // A link at the destination name pointing outside (on the host) is replaced by the file.
  symlinkSync(join(outside, "planted"), join(r, "trap"));
  await copyTree({ path: join(host, "in.txt") }, { root: r, path: "/trap" }, opts());
  expect(lstatSync(join(r, "trap")).isFile()).toBe(true);
  expect(existsSync(join(outside, "planted"))).toBe(false);
  // A link where the copy's directory goes is replaced by the directory.
  mkdirSync(join(host, "w/d"), { recursive: true });
  writeFileSync(join(host, "w/d/x"), "x\n");
  mkdirSync(join(r, "w"));
  symlinkSync(outside, join(r, "w/d"));
  await copyTree({ path: join(host, "w") }, { root: r, path: "/" }, opts());
  expect(readFileSync(join(r, "w/d/x"), "utf8")).toBe("x\n");
  expect(readdirSync(outside)).toEqual([]);
});

test("docker's table: /. copies contents, a directory never replaces a file, a missing parent is an error", async () => {
  const r = root();
  const out = fresh();
  await copyTree({ root: r, path: "/tree/." }, { path: out }, opts());
  expect(readdirSync(out).sort()).toEqual(["link", "sub"]);
  writeFileSync(join(out, "file"), "");
  const e1 = await copyTree({ root: r, path: "/tree" }, { path: join(out, "file") }, opts()).catch((e) => e);
  expect(e1).toBeInstanceOf(LeopardError);
  expect((e1 as Error).message).toContain('"/tree"');
  const e2 = await copyTree({ root: r, path: "/etc/passwd" }, { path: join(out, "no/such") }, opts()).catch(
    (e) => e,
  );
  expect((e2 as Error).message).toBe(`no such directory "${join(out, "no")}/"`);
  const e3 = await copyTree({ root: r, path: "/nope" }, { path: out }, opts()).catch((e) => e);
  expect((e3 as Error).message).toBe('no such file or directory "/nope"');
});

test("a copy that fails part-way leaves no new directory behind", async () => {
  const r = root();
  const out = fresh();
  let calls = 0;
  // Interrupted at the first chance: nothing of the new tree stays.
  for (let i = 0; i < 200; i++) writeFileSync(join(r, `tree/sub/f${i}`), "x");
  const e = await copyTree(
    { root: r, path: "/tree" },
    { path: join(out, "t") },
    opts([], { interrupted: () => (++calls > 1 ? "SIGINT" : undefined) }),
  ).catch((x) => x);
  expect((e as Error).message).toBe("the copy was interrupted by SIGINT");
  expect(readdirSync(out)).toEqual([]);
});
