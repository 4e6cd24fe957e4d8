// native/wire.h is generated from wire.ts; the launcher must never drift from the worker.
import { expect, test } from "bun:test";
import { wireHeaderText } from "./gen-wire-header.ts";

test("native/wire.h equals the header generated from wire.ts (bun src/serve/gen-wire-header.ts > native/wire.h)", async () => {
  const onDisk = await Bun.file(new URL("../../native/wire.h", import.meta.url)).text();
  expect(onDisk).toBe(wireHeaderText());
});

test("launch.c spells no wire letter or the magic itself: only through wire.h's names", async () => {
  const c = await Bun.file(new URL("../../native/launch.c", import.meta.url)).text();
  const code = c.replace(/\/\*[\s\S]*?\*\//g, "");
  expect(code).not.toContain('"LSRV');
  // A message letter as a literal: 'G' in a switch, "G" as a message.
  expect(code.match(/(case\s+'[A-Z]'|send\w*\([^)]*"[A-Z]")/g) ?? []).toEqual([]);
});
