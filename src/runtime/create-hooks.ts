// create's OCI hooks: the state they read, the ones the plan carries (createContainer and
// startContainer run by the helper) and the runtime's own stages run at sync 4.

import type { Spec, SpecHook } from "../config/types.ts";
import { type HookState, hookArgv, hookTimeoutMs, runHooks, stateAroundPid } from "../hooks/hooks.ts";
import type { PlanHooks } from "../plan/hooks.ts";

function hookState(spec: Spec, id: string, bundle: string): Omit<HookState, "status" | "pid"> {
  return { ociVersion: spec.ociVersion, id, bundle, annotations: spec.annotations };
}

/** The hooks the plan carries: sync 4 when the parent has some to run, the container's own as RUN_HOOK ops. */
export function planHooks(spec: Spec, id: string, bundle: string): PlanHooks | undefined {
  const h = spec.hooks;
  if (h.prestart.length + h.createRuntime.length + h.createContainer.length + h.startContainer.length === 0)
    return undefined;
  const base = hookState(spec, id, bundle);
  const toPlan = (list: readonly SpecHook[]) =>
    list.map((x) => ({ path: x.path, argv: hookArgv(x), env: x.env, timeoutMs: hookTimeoutMs(x) }));
  return {
    runtime: h.prestart.length + h.createRuntime.length > 0,
    createContainer: toPlan(h.createContainer),
    startContainer: toPlan(h.startContainer),
    creating: stateAroundPid({ ...base, status: "creating" }),
    created: stateAroundPid({ ...base, status: "created" }),
  };
}

/** sync 4: prestart, then createRuntime, in the runtime's namespaces, with init's pid. */
export function runRuntimeHooks(spec: Spec, id: string, bundle: string, pid: number): void {
  const st: HookState = { ...hookState(spec, id, bundle), status: "creating", pid };
  runHooks("prestart", spec.hooks.prestart, st);
  runHooks("createRuntime", spec.hooks.createRuntime, st);
}
