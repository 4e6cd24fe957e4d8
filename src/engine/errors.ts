// The engine's exit codes, as docker's: 125 when the engine itself fails, 126 when the command
// cannot be executed, 127 when it does not exist; otherwise the container's own status.
import { LeopardError } from "../util/errors.ts";

export class CommandError extends LeopardError {
  constructor(
    readonly exitCode: 126 | 127,
    message: string,
  ) {
    super("invalid-argument", message);
  }
}

export function exitCodeOf(err: unknown): number {
  return err instanceof CommandError ? err.exitCode : 125;
}
