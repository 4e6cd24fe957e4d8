// `--explain`: the launch plan as numbered shell steps, printed before it runs.
import type { Step } from "../plan/plan.ts";

export function explainPlan(steps: readonly Step[]): string {
  return steps.map((s, i) => `${String(i + 1).padStart(3)}. ${s.explain}`).join("\n");
}
