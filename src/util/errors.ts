// Errors with stable codes. A message is one sentence with values quoted; the CLI prints
// `leopard-oci: <command> <id>: <message>` and exits non-zero.

export type ErrorCode =
  | "invalid-spec"
  | "invalid-argument"
  | "not-found"
  | "exists"
  | "bad-state"
  | "helper"
  | "protocol"
  | "system"
  | "unsupported";

export class LeopardError extends Error {
  override name = "LeopardError";
  readonly code: ErrorCode;
  readonly errno?: number;
  readonly syscall?: string;
  readonly path?: string;
  constructor(
    code: ErrorCode,
    message: string,
    extra: { cause?: unknown; errno?: number; syscall?: string; path?: string } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.code = code;
    if (extra.errno !== undefined) this.errno = extra.errno;
    if (extra.syscall !== undefined) this.syscall = extra.syscall;
    if (extra.path !== undefined) this.path = extra.path;
  }
}

/** runc's wording, which containerd and CRI-O match on. */
export function containerNotFound(id: string): LeopardError {
  return new LeopardError("not-found", `container "${id}" does not exist`);
}

/** A one-line description of any thrown value. */
export function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
