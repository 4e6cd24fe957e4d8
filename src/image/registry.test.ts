// Where Basic credentials may go to fetch a token: the realm rule, value by value. The
// behaviour against live servers (pull and login) is test/image/token-realm.test.ts; redirects
// are test/image/redirect-credentials.test.ts.
import { describe, expect, test } from "bun:test";
import { realmRefusal } from "./registry.ts";

const refusal = (realm: string, host: string, insecure: boolean) =>
  realmRefusal(new URL(realm), host, insecure);

describe("credentials go to a token realm", () => {
  test("over https, on any host", () => {
    expect(refusal("https://auth.docker.io/token", "registry-1.docker.io", false)).toBeUndefined();
    expect(refusal("https://auth.example/token", "127.0.0.1:5000", true)).toBeUndefined();
  });

  test("over plain http on the host of a registry used insecurely, any port", () => {
    expect(refusal("http://127.0.0.1:5001/token", "127.0.0.1:5000", true)).toBeUndefined();
    expect(refusal("http://reg.lan/token", "reg.lan:5000", true)).toBeUndefined();
    expect(refusal("http://[::1]:5001/token", "[::1]:5000", true)).toBeUndefined();
  });
});

describe("credentials do not go to a token realm", () => {
  test("over plain http on another host, even for an insecure registry", () => {
    expect(refusal("http://other:5000/token", "127.0.0.1:5000", true)).toBe(
      'token realm "http://other:5000/token" is plain http on another host; refusing to send credentials',
    );
    expect(refusal("http://127.0.0.2:5000/token", "127.0.0.1:5000", true)).toBe(
      'token realm "http://127.0.0.2:5000/token" is plain http on another host; refusing to send credentials',
    );
  });

  test("over plain http on the registry's own host when TLS is verified for it", () => {
    expect(refusal("http://reg.example/token", "reg.example", false)).toBe(
      'token realm "http://reg.example/token" is plain http for a registry used with TLS verification; refusing to send credentials',
    );
  });
});
