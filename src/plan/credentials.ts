// The credential steps of a process, shared by a container's init (plan.ts) and exec
// (exec-plan.ts). The bounding set is dropped while still root (it needs CAP_SETPCAP); KEEPCAPS
// holds the permitted set across setuid; capset then sets the final sets. The kernel raises an
// ambient capability only if it is permitted and inheritable: runc warns and carries on for the
// others (its default spec lists ambient caps without inheritable ones), so only those are asked.
import { capabilityMask } from "./capabilities.ts";
import type { Step } from "./plan.ts";
import type { PlanSpec } from "./types.ts";

const PR_SET_KEEPCAPS = 8;

export function credentialSteps(proc: PlanSpec["process"], last: number): Step[] {
  const caps = proc.capabilities;
  const mask = (names: readonly string[] | undefined): bigint => capabilityMask(names ?? [], last);
  const gids = proc.user.additionalGids ?? [];
  const packed = new Uint8Array(gids.length * 4);
  gids.forEach((g, i) => {
    new DataView(packed.buffer).setUint32(i * 4, g, true);
  });
  return [
    {
      op: { op: "CAP_BOUNDING", mask: mask(caps?.bounding), last },
      explain: `capsh --drop=<all but ${(caps?.bounding ?? []).length} bounding capabilities>`,
    },
    { op: { op: "PRCTL", option: PR_SET_KEEPCAPS, arg: 1 }, explain: "# keep capabilities across setuid" },
    { op: { op: "SETGROUPS", gids: packed }, explain: `# setgroups [${gids.join(",")}]` },
    {
      op: { op: "SETID", uid: proc.user.uid, gid: proc.user.gid },
      explain: `setpriv --reuid=${proc.user.uid} --regid=${proc.user.gid}`,
    },
    {
      op: { op: "PRCTL", option: PR_SET_KEEPCAPS, arg: 0 },
      explain: "# stop keeping capabilities across setuid",
    },
    {
      op: {
        op: "CAPS",
        effective: mask(caps?.effective),
        permitted: mask(caps?.permitted),
        inheritable: mask(caps?.inheritable),
      },
      explain: "# capset: effective, permitted and inheritable sets as configured",
    },
    {
      op: {
        op: "CAP_AMBIENT",
        mask: mask(caps?.ambient) & mask(caps?.inheritable) & mask(caps?.permitted),
        last,
      },
      explain: "# ambient capabilities: those configured that are also permitted and inheritable",
    },
  ];
}
