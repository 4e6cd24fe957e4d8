// The messages a plan makes the helper send, in order, and a checker that refuses any other
// order. Pure: tested on plain data (sequence.test.ts); the session (src/runtime/helper-session.ts)
// feeds it every message it receives.
//
// The order is fixed by the plan: the helper runs its ops one after another and only these ops
// send (see the ladder in ops.ts). FORK_PID1's parent sends PID before its child may run on
// (a pipe gates the child), so the child's messages never overtake it. ERROR may come at any
// point and ends the exchange; EOF comes when the last copy of the helper's socket closes (execve,
// or an exit).
import { ProtocolError } from "./decode.ts";
import { type Op, PtyMode, SyncTag } from "./ops.ts";

/** One message the helper will send, and the index of the op that sends it. */
export type Expected =
  | { type: "sync"; tag: number; index: number }
  | { type: "pid"; index: number }
  | { type: "pty"; index: number }
  | { type: "ready"; index: number };

/** Every message the ops send over the sync socket, in plan order. */
export function expectedMessages(ops: readonly Op[]): Expected[] {
  const out: Expected[] = [];
  ops.forEach((op, index) => {
    switch (op.op) {
      case "SYNC":
        out.push({ type: "sync", tag: Number(op.tag), index });
        break;
      case "SECCOMP_LISTENER":
        out.push({ type: "sync", tag: SyncTag.SECCOMP_LISTENER, index });
        break;
      case "FORK_PID1":
        out.push({ type: "pid", index });
        break;
      case "PTY":
        if (Number(op.mode) === PtyMode.SYNC) out.push({ type: "pty", index });
        break;
      case "WAIT_START":
        out.push({ type: "ready", index });
        break;
      default:
        break;
    }
  });
  return out;
}

/** What a received message is, for the checker: its type and, for a sync, its tag. */
export type Received = { type: "sync"; tag: number } | { type: "pid" | "pty" | "ready" };

const name = (m: Received | Expected): string => (m.type === "sync" ? `sync ${m.tag}` : m.type);

/** Accepts the plan's messages in order and nothing else. */
export class MessageSequence {
  private readonly expected: Expected[];
  private at = 0;

  constructor(ops: readonly Op[]) {
    this.expected = expectedMessages(ops);
  }

  /** The expected message this one is; throws ProtocolError when it is out of order or unplanned. */
  accept(m: Received): Expected {
    const want = this.expected[this.at];
    if (want === undefined)
      throw new ProtocolError(`the helper sent ${name(m)} after the last message its plan sends`);
    if (want.type !== m.type || (m.type === "sync" && want.type === "sync" && want.tag !== m.tag))
      throw new ProtocolError(
        `the helper sent ${name(m)} where its plan sends ${name(want)} (op ${want.index})`,
      );
    this.at++;
    return want;
  }

  /** Whether a message of this type is still to come. */
  awaits(type: Expected["type"]): boolean {
    return this.expected.slice(this.at).some((e) => e.type === type);
  }

  /** Every planned message has arrived. */
  get complete(): boolean {
    return this.at === this.expected.length;
  }
}
