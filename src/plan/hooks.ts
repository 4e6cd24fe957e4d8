// OCI hooks in the launch plan: sync 4 for the stages the parent runs (prestart, createRuntime)
// and RUN_HOOK ops for those the container's process runs itself (createContainer before
// pivot_root, startContainer just before execve).
import type { Op } from "../protocol/ops.ts";
import { SyncTag } from "../protocol/ops.ts";

export interface PlanHook {
  path: string;
  /** argv as execve takes it (args[0] first). */
  argv: readonly string[];
  env: readonly string[];
  /** 0: no limit. */
  timeoutMs: number;
}

export interface PlanHooks {
  /** prestart or createRuntime hooks exist: the parent runs them at sync 4. */
  runtime: boolean;
  createContainer: readonly PlanHook[];
  startContainer: readonly PlanHook[];
  /** The state JSON around the pid, with status "creating" and "created". */
  creating: { head: string; tail: string };
  created: { head: string; tail: string };
}

export function runtimeHookSync(): { op: Op; explain: string } {
  return {
    op: { op: "SYNC", tag: SyncTag.HOOKS },
    explain: "# sync 4: the parent runs the prestart and createRuntime hooks (runtime namespace)",
  };
}

export function hookSteps(
  stage: "createContainer" | "startContainer",
  hooks: readonly PlanHook[],
  state: { head: string; tail: string },
): { op: Op; explain: string }[] {
  return hooks.map((h) => ({
    op: {
      op: "RUN_HOOK",
      path: h.path,
      argv: h.argv,
      env: h.env,
      state_head: state.head,
      state_tail: state.tail,
      timeout_ms: h.timeoutMs,
      stage,
    },
    explain: `${h.argv.join(" ")} <<< "$STATE"   # ${stage} hook${h.timeoutMs ? `, killed after ${h.timeoutMs} ms` : ""}`,
  }));
}
