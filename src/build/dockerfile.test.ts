import { describe, expect, test } from "bun:test";
import { parseDockerfile } from "./dockerfile.ts";

describe("parseDockerfile", () => {
  test("continuations, flags, JSON forms and lines", () => {
    const d = parseDockerfile(
      [
        "# comment",
        "ARG V=1",
        "FROM busybox AS b",
        "RUN echo a \\",
        "  && echo b",
        'CMD ["sh", "-c", "echo a b"]',
        "COPY --chown=1:2 --from=b a /x/",
        "ONBUILD RUN echo later",
      ].join("\n"),
    );
    expect(d.instructions.map((i) => [i.line, i.keyword])).toEqual([
      [2, "ARG"],
      [3, "FROM"],
      [4, "RUN"],
      [6, "CMD"],
      [7, "COPY"],
      [8, "ONBUILD"],
    ]);
    expect(d.instructions[2]?.args).toBe("echo a   && echo b");
    expect(d.instructions[2]?.json).toBeUndefined();
    expect(d.instructions[3]?.json).toEqual(["sh", "-c", "echo a b"]);
    expect(d.instructions[4]?.flags).toEqual({ chown: "1:2", from: "b" });
    expect(d.instructions[4]?.args).toBe("a /x/");
    expect(d.instructions[5]?.trigger?.keyword).toBe("RUN");
  });
  test("the escape directive", () => {
    const d = parseDockerfile("# escape=`\nFROM x\nRUN a `\n b\n");
    expect(d.escape).toBe("`");
    expect(d.instructions[1]?.args).toBe("a  b");
  });
  const bad: [string, string][] = [
    ["FROM x\nBOGUS y\n", 'Containerfile:2: unknown instruction "BOGUS"'],
    ["FROM x\nCOPY --bogus=1 a b\n", 'Containerfile:2: COPY does not take the flag "--bogus"'],
    ["FROM x\nRUN\n", "Containerfile:2: RUN needs at least one argument"],
    ["RUN x\nFROM y\n", "Containerfile:1: RUN before the first FROM"],
    ["# nothing\n", "Containerfile:1: the file has no FROM instruction"],
    ["FROM x\nONBUILD FROM y\n", "Containerfile:2: FROM is not allowed as an ONBUILD trigger"],
  ];
  for (const [text, msg] of bad)
    test(`refuses: ${msg}`, () => expect(() => parseDockerfile(text, "Containerfile")).toThrow(msg));
});

describe("here-documents", () => {
  test("RUN and COPY split their documents off the first line", () => {
    const d = parseDockerfile(
      'FROM x\nRUN <<EOT\necho a\necho "b"\nEOT\nCOPY <<-"ONE" <<TWO /d/\n\tliteral $X\nONE\nexpanded $X\nTWO\nRUN echo after\n',
    );
    expect(d.instructions[1]).toMatchObject({
      firstLine: "<<EOT",
      heredocs: [{ name: "EOT", content: 'echo a\necho "b"\n', literal: false }],
    });
    expect(d.instructions[2]?.heredocs).toEqual([
      { name: "ONE", content: "literal $X\n", literal: true },
      { name: "TWO", content: "expanded $X\n", literal: false },
    ]);
    expect(d.instructions[3]?.args).toBe("echo after");
  });
});
