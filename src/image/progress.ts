// Pull progress: one line per layer redrawn in place on a terminal (bytes, speed), plain
// lines ("<digest>: done") otherwise.

export interface ProgressSink {
  start(id: string, total: number): void;
  add(id: string, bytes: number): void;
  done(id: string, note: string): void;
  line(text: string): void;
  close(): void;
}

function human(n: number): string {
  const units = ["B", "kB", "MB", "GB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)}${units[i]}`;
}

interface Row {
  id: string;
  total: number;
  got: number;
  started: number;
  note: string | undefined;
}

export class Progress implements ProgressSink {
  readonly #tty: boolean;
  readonly #out: (s: string) => void;
  readonly #rows: Row[] = [];
  #drawn = 0;
  #last = 0;

  constructor(opts: { tty: boolean; write: (s: string) => void; quiet?: boolean }) {
    this.#tty = opts.tty && opts.quiet !== true;
    this.#out = opts.quiet === true ? () => {} : opts.write;
  }

  #row(id: string): Row {
    let r = this.#rows.find((x) => x.id === id);
    if (r === undefined) {
      r = { id, total: 0, got: 0, started: Date.now(), note: undefined };
      this.#rows.push(r);
    }
    return r;
  }

  start(id: string, total: number): void {
    const r = this.#row(id);
    r.total = total;
    r.started = Date.now();
    this.#draw(true);
  }

  add(id: string, bytes: number): void {
    this.#row(id).got += bytes;
    this.#draw(false);
  }

  done(id: string, note: string): void {
    const r = this.#row(id);
    r.note = note;
    if (this.#tty) this.#draw(true);
    else this.#out(`${id}: ${note}\n`);
  }

  line(text: string): void {
    if (this.#tty) {
      this.#clear();
      this.#out(`${text}\n`);
      this.#drawn = 0;
      this.#draw(true);
    } else {
      this.#out(`${text}\n`);
    }
  }

  #clear(): void {
    if (this.#drawn > 0) this.#out(`\x1b[${this.#drawn}A\x1b[J`);
  }

  #draw(force: boolean): void {
    if (!this.#tty) return;
    const now = Date.now();
    if (!force && now - this.#last < 100) return;
    this.#last = now;
    this.#clear();
    const lines = this.#rows.map((r) => {
      if (r.note !== undefined) return `${r.id}: ${r.note}`;
      const secs = Math.max((now - r.started) / 1000, 0.001);
      const total = r.total > 0 ? `/${human(r.total)}` : "";
      return `${r.id}: downloading ${human(r.got)}${total} ${human(r.got / secs)}/s`;
    });
    this.#out(lines.map((l) => `${l}\n`).join(""));
    this.#drawn = lines.length;
  }

  close(): void {
    this.#draw(true);
  }
}

export const silent: ProgressSink = { start() {}, add() {}, done() {}, line() {}, close() {} };
