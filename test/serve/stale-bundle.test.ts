// In a checkout the launcher runs a bundle only while none of the sources it was built from is
// newer: it stats the files of the bundle's .inputs list (written by make), and walks nothing.
// A copy of the launcher in a small made-up checkout; LEOPARD_SERVE=1 makes it say why it would
// not serve: "older than the sources" for a stale bundle, else (fresh) the missing socket.
import { afterAll, expect, test } from "bun:test";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const TOP = join(import.meta.dir, "../..");
const top = mkdtempSync(join(tmpdir(), "leopard-stale-"));
afterAll(() => rmSync(top, { recursive: true, force: true }));
for (const d of ["native/build", "node_modules/bun/bin", "build/cli", "src/sub"])
  mkdirSync(join(top, d), { recursive: true });
copyFileSync(join(TOP, "native/build/leopard-oci"), join(top, "native/build/leopard-oci"));
symlinkSync(join(TOP, "node_modules/bun/bin/bun.exe"), join(top, "node_modules/bun/bin/bun.exe"));
const bundle = join(top, "build/cli/leopard-oci.js");
const OLD = new Date(2020, 0, 1);
const NEW = new Date(2030, 0, 1);
const BUILT = new Date(2025, 0, 1);

/** Sources a.ts and sub/b.ts in the list; other.ts and a test beside them not. */
function checkout(list: string | undefined): void {
  for (const f of ["src/a.ts", "src/sub/b.ts", "src/other.ts", "src/a.test.ts"]) {
    writeFileSync(join(top, f), "");
    utimesSync(join(top, f), OLD, OLD);
  }
  writeFileSync(bundle, "");
  utimesSync(bundle, BUILT, BUILT);
  if (list === undefined) rmSync(`${bundle}.inputs`, { force: true });
  else writeFileSync(`${bundle}.inputs`, list);
}

function why(): string {
  const r = Bun.spawnSync([join(top, "native/build/leopard-oci"), "state", "x"], {
    env: { ...process.env, LEOPARD_SERVE: "1", LEOPARD_SERVE_DIR: join(top, "no-server") },
    stderr: "pipe",
  });
  return r.stderr.toString();
}

const STALE = "leopard-oci: not served (LEOPARD_SERVE=1): the bundle is missing or older than the sources";
const LIST = "src/a.ts\nsrc/sub/b.ts\n";

test("no listed source newer: the bundle is fresh (the call goes on to look for a server)", () => {
  checkout(LIST);
  expect(why()).toContain(`${join(top, "no-server")}/leopard-oci.sock`);
  expect(why()).not.toContain("older than the sources");
});

test("a listed source newer than the bundle: stale", () => {
  checkout(LIST);
  utimesSync(join(top, "src/sub/b.ts"), NEW, NEW);
  expect(why()).toStartWith(STALE);
});

test("an unlisted file newer (a test, another bundle's source): still fresh", () => {
  checkout(LIST);
  utimesSync(join(top, "src/a.test.ts"), NEW, NEW);
  utimesSync(join(top, "src/other.ts"), NEW, NEW);
  expect(why()).not.toContain("older than the sources");
});

test("a listed source gone, no list, or a cut list: stale", () => {
  checkout(LIST);
  unlinkSync(join(top, "src/a.ts"));
  expect(why()).toStartWith(STALE);
  checkout(undefined);
  expect(why()).toStartWith(STALE);
  checkout("src/a.ts\nsrc/sub/b");
  expect(why()).toStartWith(STALE);
});
