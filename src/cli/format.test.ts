import { describe, expect, test } from "bun:test";
import { bytesSize, formatRows, humanSize, renderEach, tabulate } from "./format.ts";

describe("docker's output formats", () => {
  test("table formats: a header from the field names, columns aligned as docker's tabwriter", () => {
    const rows = [
      { Names: "a1", Image: "busybox", ID: "1" },
      { Names: "longer-name", Image: "x", ID: "2" },
    ];
    expect(formatRows("table {{.Names}}\\t{{.Image}}", rows, { Names: "NAMES", Image: "IMAGE" }, "")).toBe(
      "NAMES         IMAGE\na1            busybox\nlonger-name   x\n",
    );
    expect(formatRows("table {{.ID}}", rows, { ID: "CONTAINER ID" }, "")).toBe("CONTAINER ID\n1\n2\n");
    expect(formatRows("{{.Names}}", rows, {}, "")).toBe("a1\nlonger-name\n");
    expect(formatRows("json", [{ A: 1 }], {}, "")).toBe('{"A":1}\n');
    expect(formatRows("table", rows, { Names: "NAMES" }, "{{.Names}}")).toBe("NAMES\na1\nlonger-name\n");
  });

  test("tabulate: every column but the last at least 10 wide, 3 spaces after the widest cell", () => {
    expect(tabulate(["A\tB\tC", "xx\ty\tz"])).toBe("A         B         C\nxx        y         z\n");
  });

  test("inspect -f renders the template once per object; without it, a JSON array", () => {
    expect(renderEach("{{.A}}", [{ A: 1 }, { A: 2 }])).toBe("1\n2\n");
    expect(renderEach(undefined, [{ A: 1 }])).toBe('[\n  {\n    "A": 1\n  }\n]\n');
  });
});
test("sizes as docker prints them: binary for memory, decimal for I/O and images", () => {
  expect([
    bytesSize(64 * 1024 * 1024),
    bytesSize(344 * 1024),
    bytesSize(23.54 * 1024 ** 3),
    bytesSize(0),
  ]).toEqual(["64MiB", "344KiB", "23.54GiB", "0B"]);
  expect([humanSize(1_984_000), humanSize(0), humanSize(1234, 3)]).toEqual(["1.984MB", "0B", "1.23kB"]);
});
