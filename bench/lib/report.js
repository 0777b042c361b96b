// Turning measurements into what people read: values, ratios, target verdicts, the console
// tables and bench/RESULTS.md.

const { quantile } = require("./stats");

/**
 * The control: tslab-ipc's runner a second time in the same rotation, as if it were a peer. Ours
 * against it is how far apart the same code comes out in this run, the run's resolution for the
 * peer rows, measured on each row rather than assumed.
 */
const CONTROL = "tslab-ipc-again";

/** 3 significant digits, no exponent for the ranges we print. */
function fmt(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return "—";
  const a = Math.abs(n);
  if (a >= 1000) return Math.round(n).toLocaleString("en-US");
  if (a >= 100) return n.toFixed(0);
  if (a >= 10) return n.toFixed(1);
  if (a >= 1) return n.toFixed(2);
  return n.toPrecision(3);
}

const fmtRatio = (r) => (r === null || Number.isNaN(r) ? "—" : `${r.toFixed(2)}x`);

function compare(value, op, limit) {
  switch (op) {
    case ">=":
      return value >= limit;
    case "<=":
      return value <= limit;
    case "<":
      return value < limit;
    case ">":
      return value > limit;
    default:
      throw new Error(`bad op ${op}`);
  }
}

/**
 * Ratios and verdicts of one reported number. Ratios are ours / other, of the values as
 * reported (so for GB/s and trips/s higher is better, for times lower is better).
 */
function judge(out, peers) {
  const ours = out.values["tslab-ipc"];
  const c = out.values.c;
  const ran = peers.filter((p) => typeof out.values[p] === "number");
  let bestPeer = null;
  for (const p of ran) {
    if (bestPeer === null) bestPeer = p;
    else if (out.higherIsBetter ? out.values[p] > out.values[bestPeer] : out.values[p] < out.values[bestPeer])
      bestPeer = p;
  }
  /** ours / `system`'s value, or null when either did not run (or the other is 0). */
  const ratioTo = (system) => {
    const theirs = system === null ? undefined : out.values[system];
    return typeof ours === "number" && typeof theirs === "number" && theirs !== 0 ? ours / theirs : null;
  };
  const ratios = {
    vsC: ratioTo("c"),
    bestPeer,
    vsBestPeer: ratioTo(bestPeer),
    vsControl: ratioTo(CONTROL),
  };
  const verdicts = [];
  const t = out.target;
  if (t && typeof ours === "number") {
    if (t.vsC && ratios.vsC !== null) {
      const [op, limit] = t.vsC;
      verdicts.push({
        kind: "vsC",
        what: `ours/C ${op} ${limit}`,
        holds: compare(ratios.vsC, op, limit),
        near: near(ratios.vsC, limit),
        got: fmtRatio(ratios.vsC),
      });
    }
    if (t.peers && bestPeer) {
      // peers: true, at least as good as every peer; peers: 0.03, no peer more than 3% ahead
      // (for GB/s: peer / ours <= 1.03). A tolerance is the noise allowance itself, so a miss
      // past it is a plain miss, never "by < 5%".
      const tol = typeof t.peers === "number" ? t.peers : 0;
      const r = Number(ratios.vsBestPeer);
      verdicts.push({
        kind: "peers",
        what: tol
          ? `no peer more than ${+(tol * 100).toFixed(1)}% ahead`
          : `at least as ${out.higherIsBetter ? "fast" : "quick"} as every peer`,
        holds: out.higherIsBetter ? r * (1 + tol) >= 1 : r <= 1 + tol,
        near: tol ? false : near(ratios.vsBestPeer, 1),
        got: `${fmtRatio(ratios.vsBestPeer)} of ${bestPeer}${ratios.vsControl === null ? "" : `; ours against ours again ${fmtRatio(ratios.vsControl)}`}`,
      });
    }
    if (t.vsCPlus !== undefined && typeof c === "number") {
      // An absolute allowance over C, in the workload's unit (msync on tmpfs: C + 0.1 µs).
      const diff = ours - c;
      verdicts.push({
        kind: "vsCPlus",
        what: `ours <= C + ${t.vsCPlus} ${out.unit}`,
        holds: diff <= t.vsCPlus,
        near: Math.abs(diff - t.vsCPlus) < 0.05 * Math.abs(c + t.vsCPlus),
        got: `${fmt(ours)} against C ${fmt(c)}, +${fmt(diff)} ${out.unit}`,
      });
    }
    if (t.vs) {
      // Against a named system of the same run (ipykernel for the kernel rows).
      const [other, op, limit] = t.vs;
      const ratio = ratioTo(other);
      if (ratio !== null) {
        verdicts.push({
          kind: "vs",
          what: `ours/${other} ${op} ${limit}`,
          holds: compare(ratio, op, limit),
          near: near(ratio, limit),
          got: fmtRatio(ratio),
        });
      }
    }
    if (t.abs) {
      const [op, limit] = t.abs;
      verdicts.push({
        kind: "abs",
        what: `${op} ${limit} ${out.unit}`,
        holds: compare(ours, op, limit),
        near: near(ours, limit),
        got: `${fmt(ours)} ${out.unit}`,
      });
    }
  }
  return { ratios, verdicts };
}

function pad(s, n) {
  s = String(s);
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

/** A plain-text table for the console. */
function textTable(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => pad(c, widths[i]))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

function mdTable(rows) {
  const [head, ...body] = rows;
  return [
    `| ${head.join(" | ")} |`,
    `| ${head.map(() => "---").join(" | ")} |`,
    ...body.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

/** Rows for one reported number: one per system, then the ratios. */
function outputRows(out, systems, references) {
  const rows = [
    [
      "system",
      `${out.unit}${out.higherIsBetter ? " (higher is better)" : " (lower is better)"}`,
      "ours / this",
      "p25–p75 (n)",
    ],
  ];
  const ours = out.values["tslab-ipc"];
  for (const s of systems) {
    if (typeof out.values[s] === "number") {
      const samples = out.samples[s] || [];
      const spread = `${fmt(quantile(samples, 0.25))}–${fmt(quantile(samples, 0.75))} (${samples.length})`;
      const name =
        s === CONTROL ? `${s} (control: ours a second time)` : (references || []).includes(s) ? `${s} (for scale)` : s;
      rows.push([
        name,
        fmt(out.values[s]),
        s === "tslab-ipc" || typeof ours !== "number" ? "" : fmtRatio(ours / out.values[s]),
        spread,
      ]);
    } else if (out.skipped[s]) {
      rows.push([s, `skipped: ${out.skipped[s]}`, "", ""]);
    }
  }
  return rows;
}

function verdictText(v) {
  return `${v.holds ? "HOLDS" : v.near ? "MISSES by < 5%" : "MISSES"}: ${v.what} (got ${v.got})`;
}

/** A miss by less than 5% of the limit: inside this shared machine's run-to-run noise. */
function near(value, limit) {
  return Math.abs(value - limit) < 0.05 * Math.abs(limit);
}

/** The one-line-per-number summary: ours, C, ours/C, best peer, ours/best peer, targets. */
function summaryRows(outputs) {
  const rows = [["workload", "unit", "tslab-ipc", "C", "ours/C", "best peer", "ours/peer", "ours/again", "targets"]];
  for (const o of outputs) {
    const r = o.ratios;
    rows.push([
      o.name,
      o.unit,
      typeof o.values["tslab-ipc"] === "number"
        ? fmt(o.values["tslab-ipc"])
        : `skipped${o.skipped["tslab-ipc"] ? `: ${o.skipped["tslab-ipc"]}` : ""}`,
      fmt(o.values.c),
      fmtRatio(r.vsC),
      r.bestPeer ? `${r.bestPeer} ${fmt(o.values[r.bestPeer])}` : "—",
      fmtRatio(r.vsBestPeer),
      fmtRatio(r.vsControl),
      o.verdicts.length
        ? o.verdicts.map((v) => (v.holds ? "holds" : v.near ? "misses by <5%" : "MISSES")).join(", ")
        : "—",
    ]);
  }
  return rows;
}

/**
 * One sentence on the control: the range of ours / ours again over the rows it ran on, and the
 * peer misses where the best peer is no further from ours than the control on the same row (a
 * peer that far ahead is no further than our own code from itself there). Null when no row ran it.
 */
function controlSpread(outputs) {
  const rows = outputs.filter((o) => o.ratios.vsControl !== null && o.target?.peers);
  if (!rows.length) return null;
  const r = rows.map((o) => o.ratios.vsControl);
  const dist = (x) => Math.abs(Math.log(x));
  const inside = rows.filter(
    (o) =>
      o.ratios.vsBestPeer !== null &&
      o.verdicts.some((v) => v.kind === "peers" && !v.holds) &&
      dist(o.ratios.vsBestPeer) <= dist(o.ratios.vsControl),
  );
  return (
    `The control (${CONTROL}: our runner a second time in the same rotation) came out at ` +
    `${fmtRatio(Math.min(...r))}–${fmtRatio(Math.max(...r))} of ours on the ${rows.length} peer rows: ` +
    `the same code is that far from itself in this run. ` +
    (inside.length
      ? `Peer misses no further from 1.00x than the control on the same row: ${inside
          .map(
            (o) =>
              `${o.name} (${fmtRatio(o.ratios.vsBestPeer)} of ${o.ratios.bestPeer}, ${fmtRatio(o.ratios.vsControl)} of ours)`,
          )
          .join(", ")}.`
      : "On every row where a peer misses, the peer is further from ours than the control.")
  );
}

function markdown(results, analysis) {
  const m = results.machine;
  const lines = [];
  lines.push("# Benchmark results");
  lines.push("");
  lines.push(`Latest run: ${results.date} (\`${results.command}\`, ${results.durationSeconds.toFixed(0)} s).`);
  lines.push("");
  lines.push(
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; ${m.kernel}; /tmp is ${m.fs["/tmp"]}, /dev/shm is ${m.fs["/dev/shm"]}; ` +
      `Node ${m.node}; ${m.cc}; ${m.python}. Load average when the run started: ${(m.loadAverage || []).join(", ")}.` +
      (m.nodeExtraCaCerts
        ? ` \`NODE_EXTRA_CA_CERTS\` is set (${m.nodeExtraCaCerts}): every Node process of the run, each kernel of ours ` +
          "included, reads that file as it starts, and Python's do not."
        : "") +
      (m.syscallsEmptyTlb
        ? " The kernel isolates its page tables (PTI) on a CPU without PCID: every system call empties the TLB, so " +
          "after each call a process looks up again every page it touches, and a runtime touches more of them than C " +
          "(see the host paragraph of the analysis)."
        : ""),
  );
  lines.push("");
  lines.push(
    "Every number is the median of the samples of one run (latencies: the percentile named), with every system " +
      "run side by side in the same invocation, in rotating order. Ratios are ours / other of the reported values: " +
      "for GB/s and round trips/s higher is better, for times lower is better. Raw samples are in `bench/results.json`, which each run writes (generated, so not committed).",
  );
  lines.push("");
  lines.push("## Summary");
  lines.push("");
  lines.push(mdTable(summaryRows(results.outputs)));
  lines.push("");
  lines.push("## Targets");
  lines.push("");
  const all = results.outputs.flatMap((o) => o.verdicts);
  const missed = all.filter((v) => !v.holds);
  lines.push(
    `${all.length - missed.length} of ${all.length} hold; ${missed.length} miss` +
      `${missed.some((v) => v.near) ? `, ${missed.filter((v) => v.near).length} of them by less than 5% (inside this machine's run-to-run noise)` : ""}.`,
  );
  lines.push("");
  const control = controlSpread(results.outputs);
  if (control) {
    lines.push(control);
    lines.push("");
  }
  for (const o of results.outputs) {
    for (const v of o.verdicts) lines.push(`- ${o.name}: ${verdictText(v)}`);
  }
  lines.push("");
  lines.push("## Each workload");
  for (const w of results.workloads) {
    lines.push("");
    lines.push(`### ${w.name}: ${w.title}`);
    lines.push("");
    lines.push(`1-minute load average when it started: ${w.load} (2 cores).`);
    for (const o of results.outputs.filter((x) => x.workload === w.name)) {
      lines.push("");
      if (results.outputs.filter((x) => x.workload === w.name).length > 1) lines.push(`${o.name}:`, "");
      lines.push(mdTable(outputRows(o, w.systems, w.references)));
    }
    const notes = Object.entries(w.notes || {});
    if (notes.length) {
      lines.push("");
      for (const [s, n] of notes) lines.push(`- ${s}: ${n}`);
    }
  }
  if (analysis) {
    lines.push("");
    lines.push(analysis.trim());
  }
  lines.push("");
  return lines.join("\n");
}

module.exports = {
  CONTROL,
  fmt,
  fmtRatio,
  judge,
  controlSpread,
  textTable,
  mdTable,
  outputRows,
  summaryRows,
  verdictText,
  markdown,
};
