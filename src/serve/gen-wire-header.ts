// Prints native/wire.h from wire.ts: `bun src/serve/gen-wire-header.ts > native/wire.h`. The
// launcher (native/launch.c) spells the wire's magic, message letters, fd sources and request
// fields only through these names, so one side cannot change without the other.
import { EXEC_TARGET, FdFrom, MAGIC, Msg, REQUEST_FIELDS } from "./wire.ts";

export function wireHeaderText(): string {
  const lines: string[] = [
    "/* Generated from src/serve/wire.ts by src/serve/gen-wire-header.ts. Do not edit. */",
    "#ifndef LEOPARD_WIRE_H",
    "#define LEOPARD_WIRE_H",
    "",
    `#define LW_MAGIC ${JSON.stringify(MAGIC)}`,
    "",
    "/* Each message's first field (one letter). */",
  ];
  for (const [k, v] of Object.entries(Msg)) lines.push(`#define LW_${k} '${v}'`);
  lines.push("", "/* A SPAWN fd source's prefix: the launcher's own fd, or an attached one. */");
  for (const [k, v] of Object.entries(FdFrom)) lines.push(`#define LW_FROM_${k} '${v}'`);
  lines.push(
    "",
    "/* A SPAWN map entry with this target: the program's file itself, executed through the fd. */",
    `#define LW_EXEC_TARGET ${JSON.stringify(EXEC_TARGET)}`,
  );
  lines.push("", "/* The request's fields before argv, by position; then argv, envc, env. */");
  REQUEST_FIELDS.forEach((f, i) => {
    lines.push(`#define LW_REQ_${f} ${i}`);
  });
  lines.push(`#define LW_REQ_HEAD ${REQUEST_FIELDS.length}`, "", "#endif", "");
  return lines.join("\n");
}

if (import.meta.main) process.stdout.write(wireHeaderText());
