import { expect, test } from "bun:test";
import { applyChanges } from "./changes.ts";

test("import --change: docker's instructions applied in order to the config", () => {
  expect(
    applyChanges({}, [
      'ENV A=1 B="two words"',
      "ENV A 3",
      'CMD ["sh","-c","echo $A"]',
      "ENTRYPOINT /bin/run --flag",
      "LABEL k=v",
      "USER 1000:1000",
      "WORKDIR /srv",
      "EXPOSE 80 53/udp",
      'VOLUME ["/data"]',
      "STOPSIGNAL SIGINT",
    ]),
  ).toEqual({
    Env: ["A=3", "B=two words"],
    Cmd: ["sh", "-c", "echo $A"],
    Entrypoint: ["/bin/sh", "-c", "/bin/run --flag"],
    Labels: { k: "v" },
    User: "1000:1000",
    WorkingDir: "/srv",
    ExposedPorts: { "80/tcp": {}, "53/udp": {} },
    Volumes: { "/data": {} },
    StopSignal: "SIGINT",
  });
});

test("an instruction import cannot apply, or a malformed one, is an error naming it", () => {
  expect(() => applyChanges({}, ["RUN make"])).toThrow(
    '--change "RUN make": RUN cannot be applied by import',
  );
  expect(() => applyChanges({}, ["CMD [1]"])).toThrow("expected a JSON array of strings");
  expect(() => applyChanges({}, ["ENV"])).toThrow("expected INSTRUCTION ARGUMENTS");
});
