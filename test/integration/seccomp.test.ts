// linux.seccomp reaches the container: the default (docker-equivalent) profile lets ordinary
// commands run and denies the dangerous ones, with and without no_new_privs.
import { describe, expect, test } from "bun:test";
import { defaultSeccompJson } from "../../src/seccomp/default-profile.ts";
import { bundle, oci, trackBundles } from "./harness.ts";

const use = trackBundles();

const script =
  "echo ok; unshare -U true 2>/dev/null && echo unshare-allowed; mount -t tmpfs t /mnt 2>/dev/null && echo mount-allowed; echo end";

describe("seccomp", () => {
  for (const nnp of [true, false]) {
    test(`the default profile denies unshare and mount and allows the rest (noNewPrivileges ${nnp})`, () => {
      const b = use(
        bundle({
          args: ["/bin/sh", "-c", script],
          edit: (c) => {
            const linux = c["linux"] as Record<string, unknown>;
            linux["seccomp"] = defaultSeccompJson();
            const p = c["process"] as Record<string, unknown>;
            p["noNewPrivileges"] = nnp;
            // Full capabilities: the filter, not a missing capability, must be what says no.
            const caps = p["capabilities"] as Record<string, string[]>;
            for (const k of ["bounding", "effective", "permitted"])
              caps[k] = [...(caps[k] ?? []), "CAP_SYS_ADMIN"];
          },
        }),
      );
      const r = oci(b, ["run", "c1"]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("ok\nend\n");
    });
  }

  test("without a profile the same commands are allowed (the test can fail)", () => {
    const b = use(
      bundle({
        args: ["/bin/sh", "-c", script],
        edit: (c) => {
          const caps = (c["process"] as Record<string, Record<string, string[]>>)["capabilities"]!;
          for (const k of ["bounding", "effective", "permitted"])
            caps[k] = [...(caps[k] ?? []), "CAP_SYS_ADMIN"];
        },
      }),
    );
    const r = oci(b, ["run", "c1"]);
    expect(r.stdout).toBe("ok\nunshare-allowed\nmount-allowed\nend\n");
  });
});
