// Prints native/protocol.h from ops.ts: `bun src/protocol/gen-header.ts > native/protocol.h`.
import {
  ArgKind,
  HEADER_SIZE,
  MAGIC,
  MAX_FRAME,
  MAX_STRING,
  MsgType,
  OPS,
  type OpName,
  PROTOCOL_VERSION,
  SyncTag,
} from "./ops.ts";

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
