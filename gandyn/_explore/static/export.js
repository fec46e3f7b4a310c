// Exports: file names that say what they hold, and the current view as one PNG.

import { $ } from "./dom.js";
import { fmt, growthText } from "./format.js";
import { trajectoryColour } from "./plot.js";
import { data, gameInfo, given, methodOptionList, settingsText, state } from "./state.js";
import { SERIES } from "./views/series.js";

// File names that say what they hold: gandyn-dirac-wgan-r1=0.3-rk4-h0.1-…, with the
// game's and the method's options given and the plane (θ, ψ spelled out).
export function exportName() {
  const parts = ["gandyn", state.game,
                 ...given(gameInfo().options, state.options).map(([n, v]) => `${n}=${v}`),
                 gameInfo().gan ? state.loss : "",
                 ...(gameInfo().gan ? state.regs.map(([n, w]) => `${n}=${w}`) : []),
                 state.method,
                 ...given(methodOptionList(), state.methodOptions).map(([n, v]) => `${n}=${v}`),
                 `h${state.step}`, `${state.steps}steps`,
                 state.plane ? `plane=${state.plane}` : ""];
  const GREEK = { θ: "theta", ψ: "psi", μ: "mu", σ: "sigma", ",": "+" };
  return parts.filter(Boolean).join("-").replace(/[θψμσ,]/g, (c) => GREEK[c])
    .replace(/[^A-Za-z0-9=.+_-]/g, "_");
}

// Text broken at spaces into lines no wider than `width` (in the context's font).
function lines(ctx, text, width) {
  const out = [];
  let line = "";
  for (const word of text.split(" ")) {
    const longer = line ? `${line} ${word}` : word;
    if (line && ctx.measureText(longer).width > width) { out.push(line); line = word; }
    else line = longer;
  }
  if (line) out.push(line);
  return out;
}

// The page's views on one canvas: the title (the settings), the portrait and the
// spectrum, the verdict (each paragraph wrapped to the width), the series, the table.
function exportCanvas() {
  const ratio = window.devicePixelRatio || 1;
  const top = [$("portrait"), $("spectrum")];
  const bottom = SERIES.map(([key]) => $(`series-${key}`));
  const width = Math.max(top.reduce((s, c) => s + c.width, 0),
                         bottom.reduce((s, c) => s + c.width, 0));
  const margin = 10 * ratio;
  const lead = 15 * ratio;
  const out = document.createElement("canvas");
  const ctx = out.getContext("2d");
  const titleFont = `${14 * ratio}px system-ui, sans-serif`;
  const textFont = `${12 * ratio}px system-ui, sans-serif`;
  ctx.font = titleFont;
  const title = lines(ctx, `gandyn explore · ${settingsText()}`, width - 2 * margin);
  ctx.font = textFont;
  const verdict = [...$("verdict").querySelectorAll("p")].map((p) => p.innerText);
  if (!verdict.length && $("verdict").innerText) verdict.push($("verdict").innerText);
  const verdictLines = verdict.flatMap((text) => lines(ctx, text, width - 2 * margin));
  const rows = data.trajectories && !data.trajectories.failed
    ? data.trajectories.trajectories : [];
  const rowLines = rows.map((row, k) => lines(ctx, `${k + 1}: start (${fmt(row.start[0], 4)}, `
    + `${fmt(row.start[1], 4)}) · ${row.status}`
    + `${row.diverged_at !== null ? ` at step ${row.diverged_at}` : ""} · rate/step `
    + `${growthText(row.rate, 6)}`, width - 2 * margin - 16 * ratio));
  const titleHeight = (title.length + 0.5) * 18 * ratio;
  const topHeight = Math.max(...top.map((c) => c.height));
  const bottomHeight = Math.max(...bottom.map((c) => c.height));
  const verdictHeight = (verdictLines.length + 0.5) * lead;
  const rowsHeight = (rowLines.flat().length + 1) * lead;
  out.width = width;
  out.height = Math.ceil(titleHeight + topHeight + verdictHeight + bottomHeight + rowsHeight);
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.fillStyle = "#111";
  ctx.textBaseline = "alphabetic";
  ctx.font = titleFont;
  title.forEach((text, k) => ctx.fillText(text, margin, (18 + 18 * k) * ratio));
  let x = 0;
  for (const c of top) { ctx.drawImage(c, x, titleHeight); x += c.width; }
  ctx.font = textFont;
  let y = titleHeight + topHeight + lead;
  for (const text of verdictLines) { ctx.fillText(text, margin, y); y += lead; }
  y += -lead + 0.5 * lead;
  x = 0;
  for (const c of bottom) { ctx.drawImage(c, x, y); x += c.width; }
  y += bottomHeight + lead;
  rowLines.forEach((texts, k) => {
    ctx.fillStyle = trajectoryColour(k);
    ctx.fillRect(margin, y - 10 * ratio, 10 * ratio, 10 * ratio);
    ctx.fillStyle = "#111";
    for (const text of texts) { ctx.fillText(text, margin + 16 * ratio, y); y += lead; }
  });
  return out;
}

export function exportPng() {
  const out = exportCanvas();
  out.toBlob((blob) => {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `${exportName()}.png`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  });
}
