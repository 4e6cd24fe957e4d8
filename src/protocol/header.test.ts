// native/protocol.h is generated from ops.ts; the C side must never drift from it.
import { expect, test } from "bun:test";
import { headerText } from "./gen-header.ts";

test("native/protocol.h equals the header generated from ops.ts (bun src/protocol/gen-header.ts > native/protocol.h)", async () => {
  const onDisk = await Bun.file(new URL("../../native/protocol.h", import.meta.url)).text();
  expect(onDisk).toBe(headerText());
});
