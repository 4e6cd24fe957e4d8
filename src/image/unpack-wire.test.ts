import { describe, expect, test } from "bun:test";
import { LeopardError } from "../util/errors.ts";
import { LayerError } from "./layer-writer.ts";
import { errorFromWire, errorToWire } from "./unpack-wire.ts";

/** Through the structured clone a message takes between threads, and back into an error. */
const roundTrip = (e: unknown) => errorFromWire(structuredClone(errorToWire(e)));

describe("errors cross threads as the classes callers catch", () => {
  test("a LayerError stays a LayerError, with its message, code and the cause's message", () => {
    const e = roundTrip(new LayerError('layer entry "a" contains ".."', new Error("deep reason")));
    expect(e).toBeInstanceOf(LayerError);
    expect(e.message).toBe('layer entry "a" contains ".."');
    expect((e as LayerError).code).toBe("invalid-argument");
    expect((e.cause as Error).message).toBe("deep reason");
  });

  test("a LeopardError keeps its code, errno, syscall and path", () => {
    const e = roundTrip(
      new LeopardError("system", "open failed", { errno: 28, syscall: "openat", path: "/x" }),
    );
    expect(e).toBeInstanceOf(LeopardError);
    expect(e).not.toBeInstanceOf(LayerError);
    const l = e as LeopardError;
    expect([l.code, l.errno, l.syscall, l.path, l.message]).toEqual([
      "system",
      28,
      "openat",
      "/x",
      "open failed",
    ]);
  });

  test("anything else becomes an Error with the same name and message", () => {
    const t = roundTrip(new TypeError("not a function"));
    expect(t.name).toBe("TypeError");
    expect(t.message).toBe("not a function");
    expect(roundTrip("a string").message).toBe("a string");
  });
});
