// The error every problem in config.json becomes: one sentence, prefixed "config.json: ",
// naming the field and quoting the value. Callers catch it to print the message as is.
import { LeopardError } from "../util/errors.ts";

export class SpecError extends LeopardError {
  override name = "SpecError";
  /** Where the problem is, as a path into config.json: `linux.namespaces[2].type`; "" for the whole file. */
  readonly field: string;
  constructor(field: string, sentence: string, extra: { cause?: unknown; path?: string } = {}) {
    super("invalid-spec", `config.json: ${sentence}`, extra);
    this.field = field;
  }
}
