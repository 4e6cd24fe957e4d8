// Prints native/protocol.h from ops.ts: `bun src/protocol/gen-header.ts > native/protocol.h`.
import {
  ArgKind,
  FD,
  ForkMode,
  HEADER_SIZE,
  MAGIC,
  MAX_FRAME,
  MAX_STRING,
  MountResolve,
  MsgType,
  OPS,
  type OpName,
  PivotMode,
  PROTOCOL_VERSION,
  PtyMode,
  SyncTag,
} from "./ops.ts";

/** The named values of op arguments, as LP_<prefix>_<NAME>. */
const ENUMS: readonly [string, Readonly<Record<string, number>>][] = [
  ["FD", FD],
  ["FORK", ForkMode],
  ["PIVOT", PivotMode],
  ["PTY", PtyMode],
  ["RESOLVE", MountResolve],
];

export function headerText(): string {
  const lines: string[] = [
    "/* Generated from src/protocol/ops.ts by src/protocol/gen-header.ts. Do not edit. */",
    "#ifndef LEOPARD_PROTOCOL_H",
    "#define LEOPARD_PROTOCOL_H",
    "",
    `#define LP_MAGIC 0x${MAGIC.toString(16)}u`,
    `#define LP_PROTOCOL_VERSION ${PROTOCOL_VERSION}`,
    `#define LP_HEADER_SIZE ${HEADER_SIZE}`,
    `#define LP_MAX_FRAME ${MAX_FRAME}u`,
    `#define LP_MAX_STRING ${MAX_STRING}u`,
    "",
  ];
  for (const [k, v] of Object.entries(ArgKind)) lines.push(`#define LP_ARG_${k} ${v}`);
  lines.push("");
  for (const [k, v] of Object.entries(MsgType)) lines.push(`#define LP_MSG_${k} ${v}`);
  lines.push("");
  for (const [k, v] of Object.entries(SyncTag)) lines.push(`#define LP_SYNC_${k} ${v}`);
  lines.push("");
  const names = Object.keys(OPS) as OpName[];
  for (const name of names) {
    const args = Object.entries(OPS[name].args)
      .map(([a, t]) => `${a}:${t}`)
      .join(" ");
    lines.push(`#define LP_OP_${name} ${OPS[name].code} /* ${args || "no args"} */`);
  }
  for (const [prefix, values] of ENUMS) {
    for (const [k, v] of Object.entries(values)) lines.push(`#define LP_${prefix}_${k} ${v}`);
    lines.push("");
  }
  lines.push("/* Argument positions: op->a[LPA_<OP>_<ARG>] (native/args.h reads them by name). */");
  for (const name of names) {
    Object.keys(OPS[name].args).forEach((arg, i) => {
      lines.push(`#define LPA_${name}_${arg.toUpperCase()} ${i}`);
    });
  }
  lines.push("");
  const max = Math.max(...names.map((n) => OPS[n].code));
  lines.push(`#define LP_OP_MAX ${max}`, "");
  lines.push(
    "/* Op names and argument kinds, indexed by op code: 'u' u64, 'b' string (no NUL), 'd' binary data, 'l' list. */",
  );
  lines.push(
    "static const struct lp_op_info { const char *name; const char *args; } lp_ops[LP_OP_MAX + 1] = {",
  );
  for (const name of names) {
    const kinds = Object.values(OPS[name].args as Record<string, string>)
      .map((t) => t[0])
      .join("");
    lines.push(`  [${OPS[name].code}] = { "${name}", "${kinds}" },`);
  }
  lines.push("};", "", "#endif", "");
  return lines.join("\n");
}

if (import.meta.main) process.stdout.write(headerText());
