// docker-style names for containers created without --name ("brave_leopard"), and ids.
import { randomBytes } from "node:crypto";

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

export function randomName(taken: (n: string) => boolean): string {
  for (let i = 0; ; i++) {
    const b = randomBytes(2);
    const n = `${ADJ[(b[0] ?? 0) % ADJ.length]}_${NOUN[(b[1] ?? 0) % NOUN.length]}${i > 20 ? `_${i}` : ""}`;
    if (!taken(n)) return n;
  }
}
