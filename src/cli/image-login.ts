import { defaultAuthFile, removeCredentials, saveCredentials } from "../image/auth.ts";
import { Registry } from "../image/registry.ts";
import { LeopardError } from "../util/errors.ts";
import { str, TLS_OPTIONS, tlsVerify, type Verb } from "./image-common.ts";

export const loginVerb: Verb = {
  usage: "login [-u USER] [-p PASSWORD | --password-stdin] [--tls-verify=false] [--authfile FILE] REGISTRY",
  options: {
    ...TLS_OPTIONS,
    username: { type: "string", short: "u" },
    password: { type: "string", short: "p" },
    "password-stdin": { type: "boolean" },
  },
  args: ["registry"],
  async run(_g, v, [registry]) {
    const username = str(v, "username");
    let password = str(v, "password");
    if (v["password-stdin"] === true) password = (await Bun.stdin.text()).replace(/\r?\n$/, "");
    if (username === undefined || password === undefined) {
      throw new LeopardError("invalid-argument", "login needs --username and --password or --password-stdin");
    }
    const tls = tlsVerify(v);
    const reg = new Registry(registry ?? "", {
      credentials: { username, password },
      ...(tls === undefined ? {} : { tlsVerify: tls }),
    });
    await reg.ping();
    saveCredentials(registry ?? "", { username, password }, str(v, "authfile") ?? defaultAuthFile());
    process.stdout.write("Login Succeeded\n");
    return 0;
  },
};

export const logoutVerb: Verb = {
  usage: "logout [--authfile FILE] REGISTRY",
  options: { authfile: { type: "string" } },
  args: ["registry"],
  run(_g, v, [registry]) {
    if (!removeCredentials(registry ?? "", str(v, "authfile") ?? defaultAuthFile())) {
      throw new LeopardError("not-found", `not logged in to "${registry}"`);
    }
    process.stdout.write(`Removed login credentials for ${registry}\n`);
    return 0;
  },
};
