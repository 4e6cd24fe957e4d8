// `leopard-oci --help` and `leopard-oci VERB --help` describe every flag.
import { expect, test } from "bun:test";
import { VERBS } from "./leopard-oci.ts";
import { GLOBAL_OPTIONS, optionLines } from "./oci-main.ts";

test("every flag of every verb, and every global flag, has a line of help", () => {
  const missing: string[] = [];
  for (const [verb, v] of [...Object.entries(VERBS), ["(global)", { options: GLOBAL_OPTIONS }] as const])
    for (const [name, o] of Object.entries(v.options)) if (!o.help) missing.push(`${verb} --${name}`);
  expect(missing).toEqual([]);
});

test("a verb's help lists each of its flags with its value's name", () => {
  const lines = optionLines(VERBS["create"]?.options ?? {});
  expect(lines).toContainEqual(expect.stringMatching(/^ {2}-b, --bundle DIR +the bundle/));
  expect(lines).toContainEqual(expect.stringMatching(/^ {6}--no-pivot +enter the rootfs/));
  expect(lines).toHaveLength(Object.keys(VERBS["create"]?.options ?? {}).length);
});
