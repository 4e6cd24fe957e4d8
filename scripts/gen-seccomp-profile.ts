// Prints share/seccomp/default.json, leopard's default seccomp profile as a file for engines:
//   ./node_modules/.bin/bun scripts/gen-seccomp-profile.ts > share/seccomp/default.json
// It is defaultSeccompJson() resolved for x86_64 (with its i386 and x32 ABIs), docker's
// default capabilities, and any kernel from 4.8 on (where ptrace under seccomp is safe).
// src/seccomp/default-file.test.ts fails when the file and this output differ.
import { DEFAULT_CAPABILITIES, defaultSeccompJson } from "../src/seccomp/default-profile.ts";

export function shippedProfileText(): string {
  const profile = defaultSeccompJson({
    arch: "SCMP_ARCH_X86_64",
    kernel: [4, 8],
    capabilities: DEFAULT_CAPABILITIES,
  });
  return `${JSON.stringify(profile, null, 2)}\n`;
}

if (import.meta.main) process.stdout.write(shippedProfileText());
