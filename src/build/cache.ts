// The build cache, as docker's classic builder keeps it: a step's key is a digest of its parent's
// key, the instruction as evaluated (history's created_by, with the ARGs RUN sees) and its
// inputs (a COPY's staged content); its value is the image state after the step (layers, config,
// history). A hit is used only while every layer blob it names is still in the store.
//   <storage>/build-cache/<hex of key>.json
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import type { NewLayer } from "../image/commit.ts";
import { type Digest, hexOf, sha256 } from "../image/digest.ts";
import type { Store } from "../image/store.ts";
import type { RunConfig } from "./plan.ts";

export interface History {
  created: string;
  created_by: string;
  empty_layer?: boolean;
  comment?: string;
  author?: string;
}

/** An image as the build has it between steps. */
export interface ImageState {
  key: Digest;
  layers: NewLayer[];
  config: RunConfig;
  history: History[];
  author?: string | undefined;
}

export function stepKey(parent: string, createdBy: string, inputs: string): Digest {
  return sha256(JSON.stringify([parent, createdBy, inputs]));
}

export class BuildCache {
  readonly dir: string;
  readonly #written: string[] = [];

  constructor(readonly store: Store) {
    this.dir = `${store.root}/build-cache`;
  }

  get(key: Digest): ImageState | undefined {
    let s: ImageState;
    try {
      s = JSON.parse(readFileSync(`${this.dir}/${hexOf(key)}.json`, "utf8")) as ImageState;
    } catch {
      return undefined;
    }
    if (s.key !== key || !s.layers.every((l) => this.store.hasBlob(l.digest))) {
      // Its layers were collected: the entry is of no use any more.
      rmSync(`${this.dir}/${hexOf(key)}.json`, { force: true });
      return undefined;
    }
    return s;
  }

  put(s: ImageState): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const p = `${this.dir}/${hexOf(s.key)}.json`;
    const tmp = `${p}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(s));
    renameSync(tmp, p);
    this.#written.push(p);
  }

  /** Forgets what this build wrote (a failed build leaves nothing). */
  forgetWritten(): void {
    for (const p of this.#written.splice(0)) rmSync(p, { force: true });
  }
}
