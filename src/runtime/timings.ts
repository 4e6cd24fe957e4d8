// `--explain`'s timings: the runtime's own phases (prepare, plan, spawn, the work it does at each
// sync) and each op's duration as the helper stamped it (reported with PID and READY), in one
// table printed once the container (or the exec'd process) has started. Ops after WAIT_START run
// after `start` and are reported by nobody; the table says so rather than leave them out.
import type { Step } from "../plan/plan.ts";
import type { OpTimes } from "../protocol/decode.ts";

const ms = (n: number): string => `${n.toFixed(2).padStart(9)} ms`;

export class Timings {
  private readonly phases: { name: string; ms: number }[] = [];
  private last = performance.now();
  /** Each op's duration in ms, by op index. */
  private readonly ops = new Map<number, number>();
  /** The runtime's work at a sync, in ms, by the SYNC op's index. */
  private readonly atSync = new Map<number, number>();

  /** Ends a phase of the runtime's own, begun where the previous one ended. */
  phase(name: string): void {
    const now = performance.now();
    this.phases.push({ name, ms: now - this.last });
    this.last = now;
  }

  /** Restarts the clock without recording (time spent waiting on the helper is in its op times). */
  restart(): void {
    this.last = performance.now();
  }

  /** The runtime's work at the sync sent by op `index`. */
  sync(index: number, tookMs: number): void {
    this.atSync.set(index, tookMs);
  }

  /** Op durations from the helper's stamps. */
  helper(times: OpTimes): void {
    for (let i = 0; i + 1 < times.stamps.length; i++) {
      const d = Number(times.stamps[i + 1]! - times.stamps[i]!) / 1e6;
      this.ops.set(times.first + i, d);
    }
  }

  /** The table: the runtime's phases, then every op once, in plan order. */
  table(steps: readonly Step[]): string {
    const lines = ["timings:"];
    for (const p of this.phases) lines.push(`  ${ms(p.ms)}  runtime: ${p.name}`);
    steps.forEach((s, i) => {
      const d = this.ops.get(i);
      const sync = this.atSync.get(i);
      const extra = sync === undefined ? "" : ` (runtime ${sync.toFixed(2)} ms)`;
      const when = d === undefined ? `${"-".padStart(12)}  ` : `${ms(d)}  `;
      const note = d === undefined ? "   (after start or after the fork: not reported)" : "";
      lines.push(`  ${when}${String(i + 1).padStart(3)}. ${s.op.op}${extra}${note}`);
    });
    return lines.join("\n");
  }
}
