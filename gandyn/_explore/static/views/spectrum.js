// View: the spectrum hλ over the method's stability region (or a step map's multipliers in
// the unit disc), and the verdict beside it.

import { $ } from "../dom.js";
import { errors } from "../errors.js";
import { complexText, fmt, growthText, halfLife, ROUNDING } from "../format.js";
import { axes, canvas2d, drawLattice, frame, wrap } from "../plot.js";
import { data, state } from "../state.js";

export function drawSpectrum() {
  const { ctx, w, h } = canvas2d($("spectrum"));
  const s = data.spectrum;
  const verdict = $("verdict");
  if (!s || !s.available) {
    ctx.fillStyle = "#666";
    wrap(ctx, s ? s.reason : "computing the spectrum…", 20, 30, w - 40);
    verdict.textContent = !s ? "" : s.failed ? `no result: ${s.failed}` : s.reason;
    verdict.dataset.verdict = "";
    $("spectrum-caption").textContent = "";
    return;
  }
  const box = { left: 62, top: 12, width: w - 78, height: h - 62 };
  const region = s.kind === "region";
  const points = region ? s.scaled : s.multipliers;
  const zoomed = region && s.zoom_extent && $("zoom").checked;
  const extent = zoomed ? s.zoom_extent : region ? s.extent
    : Math.max(1.5, 1.15 * Math.max(...points.map(([a, b]) => Math.hypot(a, b))));
  const lattice = zoomed ? s.zoom_region : s.region;
  $("spectrum").dataset.extent = String(extent);
  $("zoom").parentElement.hidden = !(region && s.zoom_extent);
  const f = frame(box, -extent, extent, -extent, extent);
  ctx.save();
  ctx.beginPath(); ctx.rect(box.left, box.top, box.width, box.height); ctx.clip();
  if (region) {
    drawLattice(ctx, box, s.n, (k) => (lattice[k] === "1" ? [216, 230, 243] : [255, 255, 255]));
    boundary(ctx, f, s.n, extent, lattice);
  } else {
    ctx.fillStyle = "rgb(216, 230, 243)";
    ctx.beginPath();
    ctx.ellipse(f.px(0), f.py(0), f.px(1) - f.px(0), f.py(0) - f.py(1), 0, 0, 2 * Math.PI);
    ctx.fill();
    ctx.strokeStyle = "#0072B2";
    ctx.lineWidth = 1.5;
    ctx.stroke();
  }
  ctx.strokeStyle = "#bbb";
  ctx.beginPath();
  ctx.moveTo(f.px(-extent), f.py(0)); ctx.lineTo(f.px(extent), f.py(0));
  ctx.moveTo(f.px(0), f.py(-extent)); ctx.lineTo(f.px(0), f.py(extent));
  ctx.stroke();
  points.forEach(([a, b], k) => {
    const g = s.growth[k];
    ctx.strokeStyle = g === null || g > 1 + 1e-9 ? "#D55E00"
      : g < 1 - 1e-9 ? "#0072B2" : "#CC79A7";
    ctx.lineWidth = 2;
    const x = f.px(a);
    const y = f.py(b);
    ctx.beginPath();
    ctx.moveTo(x - 5, y - 5); ctx.lineTo(x + 5, y + 5);
    ctx.moveTo(x - 5, y + 5); ctx.lineTo(x + 5, y - 5);
    ctx.stroke();
  });
  ctx.restore();
  axes(ctx, f, region ? "Re(hλ)" : "Re μ", region ? "Im(hλ)" : "Im μ");
  $("spectrum-caption").textContent = region
    ? `${state.method}: shaded, the stability region |R(z)| < 1 (its boundary drawn); × the `
      + "scaled spectrum hλ of J at the equilibrium (vermillion: outside, blue: inside, purple: "
      + `on the boundary)${zoomed ? ` — zoomed to ±${fmt(extent, 3)}` : ""}`
    : `${state.method}: eigenvalues μ of the step map at the equilibrium (×) and the unit `
      + "disc |μ| < 1 (shaded)";
  const largest = s.unconditionally_stable ? "any h (unconditionally stable)"
    : s.largest_stable_step ? fmt(s.largest_stable_step, 6) : "none (unstable at every h)";
  const eig = s.eigenvalues.map(([a, b]) => complexText(a, b)).join(", ");
  verdict.dataset.verdict = s.verdict;
  verdict.replaceChildren();
  const line = (label, text, cls) => {
    const p = document.createElement("p");
    const strong = document.createElement("strong");
    strong.textContent = label;
    p.append(strong, ` ${text}`);
    if (cls) p.className = cls;
    verdict.append(p);
  };
  if (errors.spectrum) {
    // The settings asked for were refused (a typed h ≤ 0, say): the results below are
    // the previous settings', greyed and labelled with their own h.
    line("not computed for h = " + fmt(state.step, 6) + ":",
         `${errors.spectrum} — shown greyed: the results for h = ${fmt(s.step, 6)}`, "refused");
  }
  const g = s.growth_per_step;
  line("linearisation at the equilibrium, h = " + fmt(s.step, 6) + ":",
       `${s.verdict} — growth per step ${growthText(g, 8, ROUNDING)}${halfLife(g, s.step)}`,
       `verdict-${s.verdict}`);
  const outcome = nonlinearOutcome();
  const p = document.createElement("p");
  p.id = "nonlinear";
  const strong = document.createElement("strong");
  strong.textContent = "trajectories (the nonlinear game):";
  p.append(strong, ` ${outcome}`);
  verdict.append(p);
  line("largest stable step:", largest);
  line("eigenvalues of J:", eig);
  const note = document.createElement("p");
  note.className = "note";
  note.textContent = "The verdict is the linear analysis at the equilibrium (|growth| of the "
    + "step map's modes there); trajectories started far from it follow the nonlinear field "
    + "and may settle elsewhere, e.g. on a limit cycle.";
  verdict.append(note);
}

function nonlinearOutcome() {
  const rows = data.trajectories && !data.trajectories.failed
    ? data.trajectories.trajectories : [];
  if (!rows.length) return "none yet: click the plane to start one";
  const counts = {};
  for (const row of rows) counts[row.status] = (counts[row.status] || 0) + 1;
  return Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(", ");
}

// The region's boundary |R(z)| = 1, by marching squares on the lattice (each cell's
// crossing edges joined at their midpoints), so the edge is a line, not pixels.
function boundary(ctx, f, n, extent, lattice) {
  const at = (i, j) => lattice[j * n + i] === "1";
  const coord = (i) => -extent + (2 * extent * i) / (n - 1);
  ctx.save();
  ctx.strokeStyle = "#0072B2";
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  for (let j = 0; j < n - 1; j++) {
    for (let i = 0; i < n - 1; i++) {
      const c = [at(i, j), at(i + 1, j), at(i + 1, j + 1), at(i, j + 1)];
      if (c.every((v) => v === c[0])) continue;
      const mids = [];
      const edges = [[0, 1, (i + 0.5), j], [1, 2, i + 1, j + 0.5], [2, 3, i + 0.5, j + 1],
                     [3, 0, i, j + 0.5]];
      for (const [p, q, x, y] of edges) if (c[p] !== c[q]) mids.push([x, y]);
      for (let m = 0; m + 1 < mids.length; m += 2) {
        ctx.moveTo(f.px(coord(mids[m][0])), f.py(coord(mids[m][1])));
        ctx.lineTo(f.px(coord(mids[m + 1][0])), f.py(coord(mids[m + 1][1])));
      }
    }
  }
  ctx.stroke();
  ctx.restore();
}
