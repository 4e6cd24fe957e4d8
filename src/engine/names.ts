// docker-style names for containers created without --name ("brave_leopard"), and ids.
import { randomBytes } from "node:crypto";
import { LeopardError } from "../util/errors.ts";

const ADJ = [
  "agile",
  "bold",
  "brave",
  "calm",
  "clever",
  "eager",
  "fierce",
  "gentle",
  "happy",
  "keen",
  "lively",
  "nimble",
  "patient",
  "quick",
  "quiet",
  "sharp",
  "silent",
  "steady",
  "swift",
  "vivid",
  "wise",
  "zealous",
];
const NOUN = [
  "cheetah",
  "cougar",
  "jaguar",
  "leopard",
  "lynx",
  "margay",
  "ocelot",
  "panther",
  "puma",
  "serval",
  "caracal",
  "tiger",
  "lion",
  "ounce",
  "kodkod",
  "oncilla",
  "manul",
  "bobcat",
];

export const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function newId(): string {
  return randomBytes(32).toString("hex");
}

/**
 * Stores a container under `name` (insert throws an "exists" LeopardError when the name is taken).
 * A name the engine made up (`chosen` false) that another create took between the check and the
 * insert — parallel `run`s — is made up again, as docker does; a name the user chose is an error.
 */
export function insertNamed(
  name: string,
  chosen: boolean,
  insert: (name: string) => void,
  another: () => string,
): string {
  for (let tries = 0; ; tries++) {
    try {
      insert(name);
      return name;
    } catch (e) {
      if (chosen || tries >= 20 || !(e instanceof LeopardError && e.code === "exists")) throw e;
      name = another();
    }
  }
}

export function randomName(taken: (n: string) => boolean): string {
  for (let i = 0; ; i++) {
    const b = randomBytes(2);
    const n = `${ADJ[(b[0] ?? 0) % ADJ.length]}_${NOUN[(b[1] ?? 0) % NOUN.length]}${i > 20 ? `_${i}` : ""}`;
    if (!taken(n)) return n;
  }
}
