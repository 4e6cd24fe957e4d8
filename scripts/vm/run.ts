// bun scripts/vm/run.ts [--timeout SECONDS] [--systemd [--cgroup v2|hybrid|v1]] [--] [COMMAND …]
//
// Boots a small cgroup-v2-only VM and runs COMMAND in it (default: the cgroup tests), in this
// checkout, as root; exits with the command's status. With --systemd, systemd is the guest's
// init and COMMAND runs as its one unit (see init.sh). The guest is Debian's generic 6.1
// kernel (fetched with `apt-get download`, unpacked with `dpkg -x` under build/vm, nothing
// installed), a busybox initramfs (./init.sh), and this host's / shared read-only over 9p, so
// bun and the repository are the host's own. QEMU runs with software emulation (KVM does not
// work on this project's VMs); the result comes back over the serial console.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { type CpioEntry, cpio } from "./cpio.ts";

const TOP = join(import.meta.dir, "../..");
const WORK = join(TOP, "build/vm");
const MARKER = /LEOPARD-VM-RESULT rc=(\d+)/;
/**
 * The kernel command line for each cgroup layout. v1 controllers are kept out for v2; hybrid and
 * v1 need systemd as init (--systemd), which mounts the hierarchies as these ask.
 */
const CGROUP_CMDLINE = {
  v2: "cgroup_no_v1=all",
  hybrid: "systemd.unified_cgroup_hierarchy=0 systemd.legacy_systemd_cgroup_controller=0",
  v1: "systemd.unified_cgroup_hierarchy=0 systemd.legacy_systemd_cgroup_controller=1",
} as const;

/** The modules the initramfs needs (with what they depend on): virtio PCI and 9p over virtio. */
const WANTED_MODULES = ["virtio_pci", "9pnet_virtio", "9p"];

function die(msg: string): never {
  process.stderr.write(`vm: ${msg}\n`);
  process.exit(2);
}

function run(argv: string[], cwd = WORK): string {
  const r = Bun.spawnSync(argv, { cwd, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) die(`${argv.join(" ")} failed: ${r.stderr.toString().trim()}`);
  return r.stdout.toString();
}

/** Every module file under dir, by name ("9pnet_virtio"; dashes read as underscores). */
function moduleIndex(dir: string, out = new Map<string, string>()): Map<string, string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) moduleIndex(p, out);
    else if (e.name.endsWith(".ko")) out.set(e.name.slice(0, -3).replace(/-/g, "_"), p);
  }
  return out;
}

/** The "depends=" of a module's .modinfo section. */
function moduleDepends(path: string): string[] {
  const bytes = readFileSync(path);
  const at = bytes.indexOf("\0depends=");
  if (at < 0) return [];
  const start = at + "\0depends=".length;
  const text = bytes.subarray(start, bytes.indexOf(0, start)).toString();
  return text === "" ? [] : text.split(",").map((n) => n.replace(/-/g, "_"));
}

/** Modules in load order: each after the ones it depends on; built-in ones are skipped. */
function loadOrder(index: ReadonlyMap<string, string>, wanted: readonly string[]): string[] {
  const order: string[] = [];
  const visit = (name: string) => {
    const path = index.get(name);
    if (path === undefined || order.includes(name)) return;
    for (const d of moduleDepends(path)) visit(d);
    order.push(name);
  };
  for (const w of wanted) visit(w);
  return order;
}

interface Kernel {
  readonly vmlinuz: string;
  /** Module files in load order. */
  readonly modules: readonly string[];
}

/**
 * The newest linux-image-6.1.0-N-amd64 apt offers, reduced to build/vm/kernel/vmlinuz and
 * the modules the initramfs loads (a few MB of the package's hundreds).
 */
function kernel(): Kernel {
  const dir = join(WORK, "kernel");
  const orderFile = join(dir, "modules/order");
  const find = (): Kernel | undefined => {
    if (!existsSync(join(dir, "vmlinuz")) || !existsSync(orderFile)) return undefined;
    const names = readFileSync(orderFile, "utf8").split("\n").filter(Boolean);
    return { vmlinuz: join(dir, "vmlinuz"), modules: names.map((n) => join(dir, "modules", `${n}.ko`)) };
  };
  const have = find();
  if (have !== undefined) return have;
  const names = run(["apt-cache", "search", "--names-only", "^linux-image-6\\.1\\.0-[0-9]+-amd64$"])
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => /^linux-image-6\.1\.0-\d+-amd64$/.test(n))
    .sort((a, b) => Number(a.split("-")[4]) - Number(b.split("-")[4]));
  const pkg = names.at(-1) ?? die("apt offers no linux-image-6.1.0-*-amd64 (run apt-get update)");
  process.stderr.write(`vm: fetching ${pkg}\n`);
  run(["apt-get", "download", pkg]);
  const deb =
    readdirSync(WORK).find((f) => f.startsWith(`${pkg}_`) && f.endsWith(".deb")) ?? die(`no ${pkg} .deb`);
  const unpacked = join(WORK, "unpacked");
  rmSync(unpacked, { recursive: true, force: true });
  run(["dpkg", "-x", deb, "unpacked"]);
  const image =
    readdirSync(join(unpacked, "boot")).find((f) => f.startsWith("vmlinuz-")) ??
    die(`${deb} holds no vmlinuz`);
  const release = image.slice("vmlinuz-".length);
  const index = moduleIndex(join(unpacked, "lib/modules", release, "kernel"));
  const order = loadOrder(index, WANTED_MODULES);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "modules"), { recursive: true });
  copyFileSync(join(unpacked, "boot", image), join(dir, "vmlinuz"));
  for (const n of order) copyFileSync(index.get(n) ?? die(`no module ${n}`), join(dir, "modules", `${n}.ko`));
  writeFileSync(join(dir, "release"), `${release}\n`);
  writeFileSync(orderFile, `${order.join("\n")}\n`);
  rmSync(unpacked, { recursive: true, force: true });
  rmSync(join(WORK, deb), { force: true });
  return find() ?? die("unpacking the kernel failed");
}

/** A statically linked busybox (package busybox-static). */
function busybox(): Uint8Array {
  const path = Bun.which("busybox") ?? die("busybox is not installed (apt-get install busybox-static)");
  const bytes = readFileSync(path);
  // A dynamically linked ELF has a PT_INTERP program header.
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const phoff = Number(v.getBigUint64(0x20, true));
  const size = v.getUint16(0x36, true);
  for (let i = 0; i < v.getUint16(0x38, true); i++) {
    if (v.getUint32(phoff + i * size, true) === 3)
      die(`${path} is dynamically linked (apt-get install busybox-static)`);
  }
  return bytes;
}

function initramfs(k: Kernel, command: string, cwd: string, mode: "sh" | "systemd"): string {
  const exe = (name: string, data: Uint8Array): CpioEntry => ({ name, mode: 0o100755, data });
  const file = (name: string, data: string): CpioEntry => ({ name, mode: 0o100644, data: Buffer.from(data) });
  const dir = (name: string): CpioEntry => ({ name, mode: 0o040755 });
  const entries: CpioEntry[] = ["bin", "proc", "sys", "dev", "modules", "host", "tmp"].map(dir);
  entries.push(exe("bin/busybox", busybox()));
  entries.push(exe("init", readFileSync(join(import.meta.dir, "init.sh"))));
  const names = k.modules.map((m) => m.slice(m.lastIndexOf("/") + 1, -3));
  k.modules.forEach((m, i) => {
    entries.push({ name: `modules/${names[i]}.ko`, mode: 0o100644, data: readFileSync(m) });
  });
  entries.push(file("modules/order", names.join("\n")));
  entries.push(file("cmd", `${command}\n`), file("cwd", cwd), file("mode", mode));
  const out = join(WORK, "initramfs.cpio");
  writeFileSync(out, cpio(entries));
  return out;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  let timeout = 900;
  let mode: "sh" | "systemd" = "sh";
  let layout: "v2" | "hybrid" | "v1" = "v2";
  // Options first, in any order, then the command (after an optional "--").
  for (;;) {
    if (args[0] === "--timeout") {
      timeout = Number(args[1]);
      args.splice(0, 2);
    } else if (args[0] === "--systemd") {
      mode = "systemd";
      args.shift();
    } else if (args[0] === "--cgroup") {
      layout = args[1] as typeof layout;
      if (!["v2", "hybrid", "v1"].includes(layout)) die(`--cgroup "${args[1]}" is not v2, hybrid or v1`);
      args.splice(0, 2);
    } else break;
  }
  if (args[0] === "--") args.shift();
  if (layout !== "v2" && mode !== "systemd")
    die(`--cgroup ${layout} needs --systemd (systemd mounts the hierarchies)`);
  const bun = join(TOP, "node_modules/bun/bin/bun.exe");
  const command = args.length > 0 ? args.join(" ") : `${bun} test --timeout 60000 src/cgroups test/cgroups`;
  mkdirSync(WORK, { recursive: true });
  const qemu =
    Bun.which("qemu-system-x86_64") ?? die("qemu is not installed (apt-get install qemu-system-x86)");
  const k = kernel();
  const initrd = initramfs(k, command, TOP, mode);
  const argv = [
    qemu,
    ...["-accel", "tcg,thread=multi", "-cpu", "max", "-m", "2048", "-smp", "2"],
    ...["-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio", "-monitor", "none"],
    ...["-kernel", k.vmlinuz, "-initrd", initrd],
    ...["-append", `console=ttyS0 ${CGROUP_CMDLINE[layout]} panic=-1 quiet loglevel=3`],
    ...[
      "-virtfs",
      "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap,id=hostroot",
    ],
  ];
  process.stderr.write(`vm: booting (${timeout} s limit): ${command}\n`);
  const vm = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "inherit" });
  const timer = setTimeout(() => vm.kill("SIGKILL"), timeout * 1000);
  let rc: number | undefined;
  let tail = "";
  const dec = new TextDecoder();
  for await (const chunk of vm.stdout) {
    const text = dec.decode(chunk, { stream: true });
    process.stdout.write(text);
    tail = (tail + text).slice(-4096);
    const m = MARKER.exec(tail);
    if (m !== null) rc = Number(m[1]);
  }
  await vm.exited;
  clearTimeout(timer);
  if (rc === undefined) {
    process.stderr.write(
      vm.signalCode === "SIGKILL" ? `vm: timed out after ${timeout} s\n` : "vm: no result from the guest\n",
    );
    return vm.signalCode === "SIGKILL" ? 124 : 1;
  }
  process.stderr.write(`vm: guest command exited ${rc}\n`);
  return rc;
}

process.exit(await main());
