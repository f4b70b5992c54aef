// InFlight, the dispatcher's set of exchanges in flight: a slot array with a free list.
import { describe, expect, it } from "vitest";
import { InFlight } from "../src/in-flight.js";

const item = (name: string) => ({ name, slot: -1 });

describe("InFlight", () => {
  it("adds, deletes and lists items, reusing the slots it freed", () => {
    const set = new InFlight<ReturnType<typeof item>>();
    const [a, b, c, d] = ["a", "b", "c", "d"].map(item) as Array<ReturnType<typeof item>>;
    set.add(a!);
    set.add(b!);
    set.add(c!);
    expect(set.size).toBe(3);
    expect([a!.slot, b!.slot, c!.slot]).toEqual([0, 1, 2]);
    set.delete(b!);
    expect(b!.slot).toBe(-1);
    expect(set.size).toBe(2);
    expect(set.items().map((x) => x.name)).toEqual(["a", "c"]);
    set.add(d!); // takes b's slot: the array does not grow
    expect(d!.slot).toBe(1);
    expect(set.items().map((x) => x.name)).toEqual(["a", "d", "c"]);
  });

  it("deleting an item twice, or one never added, changes nothing", () => {
    const set = new InFlight<ReturnType<typeof item>>();
    const a = item("a");
    const b = item("b");
    const stranger = item("stranger");
    set.add(a);
    set.add(b);
    set.delete(a);
    set.delete(a);
    set.delete(stranger);
    // A stranger whose slot number is taken by another item is not that item.
    stranger.slot = b.slot;
    set.delete(stranger);
    expect(set.size).toBe(1);
    expect(set.items()).toEqual([b]);
    // The slot freed once is handed out once.
    const c = item("c");
    const d = item("d");
    set.add(c);
    set.add(d);
    expect(new Set([b.slot, c.slot, d.slot]).size).toBe(3);
  });

  it("items() is a copy: deleting while walking it reaches every item", () => {
    const set = new InFlight<ReturnType<typeof item>>();
    const all = ["a", "b", "c"].map(item);
    for (const x of all) set.add(x);
    const seen: string[] = [];
    for (const x of set.items()) {
      seen.push(x.name);
      set.delete(x);
    }
    expect(seen).toEqual(["a", "b", "c"]);
    expect(set.size).toBe(0);
  });
});
