import { expect, test } from "bun:test";
import { dockerTimestamp, logRecords, parseLog } from "./logs.ts";

test("k8s-file records: full lines, partials joined, stderr kept apart, unterminated rest", () => {
  const text =
    "2026-11-29T08:00:00.000000001+00:00 stdout F hello\n" +
    "2026-11-29T08:00:01.000000000+00:00 stderr F oops\n" +
    "2026-11-29T08:00:02.000000000+00:00 stdout P par\n" +
    "2026-11-29T08:00:02.500000000+00:00 stdout F tial\n" +
    "garbage line\n" +
    "2026-11-29T08:00:03.000000000+00:00 stdout F \n" +
    "2026-11-29T08:00:04.000000000+00:00 stdout P still-writ";
  const { lines, rest } = parseLog(text);
  expect(lines.map((l) => [l.stream, l.text])).toEqual([
    ["stdout", "hello"],
    ["stderr", "oops"],
    ["stdout", "partial"],
    ["stdout", ""],
  ]);
  expect(lines[0]?.time).toBe("2026-11-29T08:00:00.000000001+00:00");
  expect(lines[1]?.ms).toBe(Date.parse("2026-11-29T08:00:01Z"));
  expect(rest).toBe("2026-11-29T08:00:04.000000000+00:00 stdout P still-writ");
});

test("a partial line waits for its end across reads", () => {
  const a = parseLog("2026-11-29T08:00:02.000000000+00:00 stdout P par\n");
  expect(a.lines).toEqual([]);
  const b = parseLog(`${a.rest}2026-11-29T08:00:02.500000000+00:00 stdout F tial\n`);
  expect(b.lines.map((l) => l.text)).toEqual(["partial"]);
  expect(b.rest).toBe("");
});

test("a terminal's lines keep their carriage return", () => {
  const { lines } = parseLog("2026-11-29T08:00:00.000000001+00:00 stdout F hi\r\n");
  expect(lines.map((l) => l.text)).toEqual(["hi\r"]);
});

test("logs -t times as docker's RFC 3339 with nine fraction digits, in UTC with Z", () => {
  expect(dockerTimestamp("2026-12-07T02:32:55.691242654+00:00")).toBe("2026-12-07T02:32:55.691242654Z");
  expect(dockerTimestamp("2026-12-07T04:32:55.5+02:00")).toBe("2026-12-07T02:32:55.500000000Z");
  expect(dockerTimestamp("2026-12-07T02:32:55Z")).toBe("2026-12-07T02:32:55.000000000Z");
  expect(dockerTimestamp("not a time")).toBe("not a time");
});

test("a log line as k8s-file records it: partial lines end in P, the last in F", () => {
  expect(logRecords("stdout", "a\nb\n", "T")).toBe("T stdout F a\nT stdout F b\n");
  expect(logRecords("stderr", "x", "T")).toBe("T stderr P x\n");
});
