import { expect, test } from "bun:test";
import { watchOom } from "./oom.ts";

test("each OOM kill counted by the kernel becomes one event, and removal ends the watch", async () => {
  let kills = 1;
  let exists = true;
  const events: string[] = [];
  let gone = false;
  const w = watchOom({ oomKills: () => kills, exists: () => exists }, () => events.push("oom"), {
    intervalMs: 5,
    onGone: () => {
      gone = true;
    },
  });
  await Bun.sleep(20);
  expect(events).toEqual([]); // kills before the watch began are not reported
  kills = 3;
  await Bun.sleep(30);
  expect(events).toEqual(["oom", "oom"]);
  exists = false;
  await Bun.sleep(30);
  expect(gone).toBe(true);
  w.stop();
});
