// The scenarios of a `pnpm bench` run as an SVG bar chart: per scenario, @x/pool's
// throughput ÷ undici's, ÷ node:http's and ÷ the raw-socket floor's. A bar is the median of
// the per-round ratios (the table's number), the line through it the range of the rounds,
// and a dashed line marks 1.0. main.mjs writes it beside the JSON (`results/latest.svg`);
// `pnpm --filter @x/bench chart [file.json]` redraws it from a saved run. No dependencies:
// the SVG is written as text, 900 pixels wide, for the README.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

// Okabe-Ito colours: told apart with the common colour-vision deficiencies too.
const SERIES = [
  { key: "undici", label: "÷ undici 7", color: "#0072b2" },
  { key: "node:http", label: "÷ node:http", color: "#e69f00" },
  { key: "raw socket", label: "÷ raw socket (the floor)", color: "#009e73" },
];
const WIDTH = 900;
const BAR = 14;
const BAR_GAP = 3;
const GROUP = SERIES.length * (BAR + BAR_GAP) + 16;
const TOP = 112;
const BOTTOM = 64;
const RIGHT = 80;
const FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";

const esc = (s) =>
  String(s).replace(
    /[<>&"]/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c],
  );
const num = (n) => Number(n.toFixed(1));
const text = (x, y, s, attrs = "") => `<text x="${num(x)}" y="${num(y)}"${attrs}>${esc(s)}</text>`;

/** The axis: from 0 to the next step above every bar and range, at least to 1.5. */
function scale(results) {
  let max = 1.5;
  for (const r of results) {
    for (const { key } of SERIES) {
      for (const v of [r.ratio?.[key], ...(r.perRoundRatio?.[key] ?? [])]) {
        if (typeof v === "number") max = Math.max(max, v);
      }
    }
  }
  const step = max > 4 ? 1 : 0.5;
  return { max: Math.ceil(max / step) * step, step };
}

/**
 * Renders `{ machine, results }` (the bench's JSON, or the same objects in memory) as an
 * SVG document, e.g. `writeFileSync("latest.svg", ratioChart(JSON.parse(json)))`.
 */
export function ratioChart({ machine, results }) {
  const left = 24 + 7.2 * Math.max(...results.map((r) => r.scenario.length), 8);
  const plotWidth = WIDTH - left - RIGHT;
  const height = TOP + results.length * GROUP + BOTTOM;
  const plotBottom = TOP + results.length * GROUP;
  const { max, step } = scale(results);
  const x = (v) => left + (v / max) * plotWidth;
  const column = left + plotWidth + 16;
  const rounds = Math.max(0, ...results.map((r) => r.rounds ?? 0));
  const when = `${String(machine.date).slice(0, 16).replace("T", " ")} UTC`;
  const title = "@x/pool ÷ undici, node:http and a raw socket, per scenario";
  const out = [];

  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-labelledby="t d" font-family="${FONT}" fill="#222">`,
    `<title id="t">${esc(title)}</title>`,
    `<desc id="d">${esc(
      results
        .map(
          (r) =>
            `${r.scenario}: ${SERIES.map(({ key }) => `${key} ${r.ratio?.[key]?.toFixed(2) ?? "n/a"}`).join(", ")}`,
        )
        .join("; "),
    )}</desc>`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    text(16, 28, title, ' font-size="17" font-weight="600"'),
    text(
      16,
      50,
      `pnpm bench, ${when} on ${machine.cpu}, ${machine.memory}, Node ${machine.node}${machine.quick ? " (QUICK: a smoke run)" : ""}`,
      ' font-size="13" fill="#555"',
    ),
  );

  // Legend: the three series, then what the thin line is.
  let lx = 16;
  for (const s of SERIES) {
    out.push(`<rect x="${lx}" y="66" width="14" height="14" fill="${s.color}"/>`);
    out.push(text(lx + 20, 78, s.label, ' font-size="13"'));
    lx += 28 + 7.2 * s.label.length;
  }
  out.push(
    `<line x1="${num(lx)}" y1="73" x2="${num(lx + 22)}" y2="73" stroke="#222" stroke-width="1.5"/>`,
    text(lx + 28, 78, `range over ${rounds} rounds`, ' font-size="13"'),
  );

  // Grid, ticks and the 1.0 line.
  for (let v = 0; v <= max + 1e-9; v += step) {
    const gx = num(x(v));
    out.push(
      `<line x1="${gx}" y1="${TOP - 8}" x2="${gx}" y2="${plotBottom}" stroke="#e4e4e4"/>`,
      text(
        gx,
        plotBottom + 18,
        `${v.toFixed(1)}x`,
        ' font-size="12" text-anchor="middle" fill="#555"',
      ),
    );
  }
  const one = num(x(1));
  out.push(
    `<line x1="${one}" y1="${TOP - 8}" x2="${one}" y2="${plotBottom}" stroke="#222" stroke-width="1.5" stroke-dasharray="5 4"/>`,
    text(one + 5, TOP - 12, "1.0: as fast as the other", ' font-size="12"'),
    `<line x1="${num(left)}" y1="${plotBottom}" x2="${num(left + plotWidth)}" y2="${plotBottom}" stroke="#222"/>`,
    text(left - 12, TOP - 12, "scenario", ' font-size="13" font-weight="600" text-anchor="end"'),
    text(column, TOP - 12, "median", ' font-size="13" font-weight="600"'),
    text(
      left + plotWidth / 2,
      plotBottom + 44,
      "@x/pool's throughput ÷ the other's (median of the per-round ratios; higher is better for @x/pool)",
      ' font-size="13" text-anchor="middle"',
    ),
  );

  // One group of bars per scenario.
  results.forEach((r, i) => {
    const gy = TOP + i * GROUP + 8;
    out.push(
      text(
        left - 12,
        gy + (SERIES.length * (BAR + BAR_GAP)) / 2 + 1,
        r.scenario,
        ' font-size="13" text-anchor="end" dominant-baseline="middle"',
      ),
    );
    SERIES.forEach((s, j) => {
      const y = gy + j * (BAR + BAR_GAP);
      const mid = num(y + BAR / 2);
      const v = r.ratio?.[s.key];
      if (typeof v !== "number") {
        out.push(
          text(
            left + 6,
            mid,
            "n/a",
            ' font-size="12" font-style="italic" fill="#777" dominant-baseline="middle"',
          ),
        );
        return;
      }
      out.push(
        `<rect x="${num(left)}" y="${num(y)}" width="${num(x(v) - left)}" height="${BAR}" fill="${s.color}"/>`,
      );
      const range = r.perRoundRatio?.[s.key] ?? [];
      if (range.length > 1) {
        const [lo, hi] = [Math.min(...range), Math.max(...range)].map(x);
        out.push(
          `<path d="M${num(lo)} ${mid}H${num(hi)}M${num(lo)} ${mid - 4}v8M${num(hi)} ${mid - 4}v8" stroke="#222" stroke-width="1.2" fill="none"/>`,
        );
      }
      // In a column right of the plot, where no range line runs through it.
      out.push(text(column, mid, `${v.toFixed(2)}x`, ' font-size="12" dominant-baseline="middle"'));
    });
  });

  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2] ?? fileURLToPath(new URL("../results/latest.json", import.meta.url));
  const svg = file.replace(/\.json$/, "") + ".svg";
  writeFileSync(svg, ratioChart(JSON.parse(readFileSync(file, "utf8"))));
  console.log(`wrote ${svg}`);
}
