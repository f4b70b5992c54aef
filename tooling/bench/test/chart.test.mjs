import { describe, expect, it } from "vitest";
import { ratioChart } from "../src/chart.mjs";

const machine = {
  date: "2026-11-26T13:40:27.037Z",
  cpu: "CPU <x> & co",
  memory: "1 GiB",
  node: "v20",
};
const scenario = (name, ratio, perRoundRatio = {}) => ({
  scenario: name,
  ratio,
  perRoundRatio,
  rounds: 3,
});
const bars = (svg, color) => svg.split(`height="14" fill="${color}"`).length - 1;

describe("ratioChart", () => {
  it("draws a bar for each ratio and n/a for a missing one, with the run's machine", () => {
    const svg = ratioChart({
      machine,
      results: [
        scenario("a", { undici: 1.2, "node:http": 2, "raw socket": 0.9 }),
        scenario("tunnel", { undici: 1.1, "node:http": null, "raw socket": 1 }),
      ],
    });
    expect(svg.startsWith("<svg ")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    // One bar per ratio, and one swatch each in the legend.
    expect([bars(svg, "#0072b2"), bars(svg, "#e69f00"), bars(svg, "#009e73")]).toEqual([3, 2, 3]);
    expect(svg).toContain(">n/a<");
    expect(svg).toContain("2026-11-26 13:40 UTC on CPU &lt;x&gt; &amp; co");
    expect(svg).toContain(">2.00x<");
  });

  it("stretches the axis over every round's ratio, from at least 1.5x", () => {
    const narrow = ratioChart({ machine, results: [scenario("a", { undici: 1.1 })] });
    expect(narrow).toContain(">1.5x<");
    expect(narrow).not.toContain(">2.0x<");
    const wide = ratioChart({
      machine,
      results: [scenario("a", { undici: 1.1 }, { undici: [0.9, 1.1, 3.2] })],
    });
    expect(wide).toContain(">3.5x<");
    expect(wide).not.toContain(">4.0x<");
    expect(wide).toContain("range over 3 rounds");
  });
});
