// View: the data space of trajectory 1, as the 1-D Dirac-GAN's point masses and critic line
// or the 1-D Gaussian GAN's densities and quadratic critic, with its playback controls.

import { $ } from "../dom.js";
import { fmt } from "../format.js";
import {
  canSplit, dataSpaceShown, gaussianShown, playback, shownParameters, shownState, stopPlayback
} from "../playback.js";
import { axes, canvas2d, frame } from "../plot.js";
import { data, state } from "../state.js";
import { drawPortrait } from "./portrait.js";

const density = (x, mean, std) => Math.exp(-0.5 * ((x - mean) / std) ** 2)
  / (Math.abs(std) * Math.sqrt(2 * Math.PI));

// The 1-D Gaussian GAN's data space at the shown frame: the data's density N(c, s²),
// the generator's N(μ, σ²) and the critic C(x) = w₁x + w₂x² (+ b).
function drawGaussianSpace(label, mover) {
  const p = shownParameters();
  const [mu, sigma, w1, w2] = [p["μ"], p["σ"], p.w1, p.w2];
  const b = p.b || 0;
  const c = Number(state.options["real-point"] || 0);
  const s = Number(state.options.std || 1);
  $("time-label").textContent = `${label} · μ = ${fmt(mu, 4)} · σ = ${fmt(sigma, 4)}`;
  const { ctx, w, h } = canvas2d($("data-space"));
  const box = { left: 62, top: 10, width: w - 78, height: h - 52 };
  const finite = [mu, sigma, w1, w2, b].every((v) => v !== null && Number.isFinite(v));
  const spread = finite ? Math.abs(sigma) : 0;
  const half = Math.min(1e3, 1.1 * Math.max(4 * s, finite ? Math.abs(mu - c) + 4 * spread : 0));
  const realPeak = density(c, c, s);
  const generatorPeak = spread > 0 ? density(mu, mu, sigma) : Infinity;
  // The densities in the lower part, the key above them.
  const top = 1.9 * Math.max(realPeak, Math.min(generatorPeak, 3 * realPeak));
  const f = frame(box, c - half, c + half, -0.4 * top, top);
  ctx.save();
  ctx.beginPath(); ctx.rect(box.left, box.top, box.width, box.height); ctx.clip();
  ctx.strokeStyle = "#bbb";
  ctx.beginPath();
  ctx.moveTo(box.left, f.py(0)); ctx.lineTo(box.left + box.width, f.py(0));
  ctx.stroke();
  const curve = (fn, colour, fill) => {
    ctx.beginPath();
    for (let k = 0; k <= 200; k++) {
      const x = c - half + (2 * half * k) / 200;
      const y = Math.max(-1e6, Math.min(1e6, f.py(fn(x))));
      if (k) ctx.lineTo(f.px(x), y); else ctx.moveTo(f.px(x), y);
    }
    ctx.strokeStyle = colour;
    ctx.lineWidth = 2;
    ctx.stroke();
    if (fill) {
      ctx.lineTo(f.px(c + half), f.py(0)); ctx.lineTo(f.px(c - half), f.py(0)); ctx.closePath();
      ctx.fillStyle = fill;
      ctx.fill();
    }
  };
  curve((x) => density(x, c, s), "#0072B2", "rgba(0, 114, 178, 0.18)");
  if (finite && spread > 0) {
    curve((x) => density(x, mu, sigma), "#E69F00", "rgba(230, 159, 0, 0.25)");
  } else if (finite) {  // σ = 0: a point mass at μ
    ctx.fillStyle = "#E69F00";
    ctx.fillRect(f.px(mu) - 4, f.py(top), 8, f.py(0) - f.py(top));
  }
  if (finite) curve((x) => w1 * x + w2 * x * x + b, "#D55E00", null);
  ctx.restore();
  axes(ctx, f, "x (data space)", "density · C(x)");
  ctx.font = "12px system-ui, sans-serif";
  const moved = (player) => (mover === player ? " (moved)" : "");
  const key = [["#0072B2", `data N(c, s²): c = ${fmt(c)}, s = ${fmt(s)}`],
               ["#E69F00", `generator N(μ, σ²): μ = ${fmt(mu, 3)}, σ = ${fmt(sigma, 3)}`
                 + moved("generator")],
               ["#D55E00", `critic C(x) = w₁x + w₂x²${p.b !== undefined ? " + b" : ""}: `
                 + `w₁ = ${fmt(w1, 3)}, w₂ = ${fmt(w2, 3)}${moved("discriminator")}`]];
  const keyWidth = Math.min(box.width - 4,
                            30 + Math.max(...key.map(([, t]) => ctx.measureText(t).width)));
  ctx.fillStyle = "rgba(255, 255, 255, 0.85)";
  ctx.fillRect(box.left + 2, box.top + 2, keyWidth, 16 * key.length + 8);
  key.forEach(([colour, text], k) => {
    ctx.fillStyle = colour;
    ctx.fillRect(box.left + 8, box.top + 8 + 16 * k, 10, 10);
    ctx.fillStyle = "#111";
    ctx.textAlign = "left";
    ctx.textBaseline = "top";
    ctx.fillText(text, box.left + 24, box.top + 6 + 16 * k, box.width - 30);
  });
  Object.assign($("data-space").dataset, { mu: String(mu), sigma: String(sigma),
                                           w1: String(w1), w2: String(w2) });
}

const DIRAC_CAPTION = "the data space of trajectory 1 (as GAN_stability's Dirac-GAN videos): "
  + "the real point mass at c, the generator's at θ, the critic's line C(x) = ψx; its point "
  + "is marked ◆ in the plane.";
const GAUSSIAN_CAPTION = "the data space of trajectory 1: the data's density N(c, s²), the "
  + "generator's N(μ, σ²) (G(z) = μ + σz) and the quadratic critic C(x) = w₁x + w₂x² at the "
  + "step shown; its point is marked ◆ in the plane.";
const TURNS_CAPTION = " For a method whose players move in turns (altgd, …) “one player ▶” "
  + "shows the first mover's step, then the other's (GAN Lab's one D step, one G step)";

export function drawDataSpace() {
  const shown = dataSpaceShown();
  $("data-figure").hidden = !shown;
  if (!shown) { stopPlayback(); return; }
  const row = data.trajectories.trajectories[0];
  const steps = data.trajectories.steps;
  const [thetas, psis] = row.path;
  let last = thetas.length - 1;
  while (last > 0 && (thetas[last] === null || psis[last] === null)) last--;
  const slider = $("time");
  slider.max = String(last);
  playback.index = Math.min(playback.index, last);
  slider.value = String(playback.index);
  if (playback.index >= last) playback.phase = 0;
  const i = playback.index;
  const { theta, psi, label, mover } = shownState();
  $("data-space").dataset.index = String(i);
  $("data-space").dataset.phase = String(playback.phase);
  $("data-space").dataset.mover = mover;
  $("data-caption").textContent = (gaussianShown() ? GAUSSIAN_CAPTION : DIRAC_CAPTION)
    + TURNS_CAPTION;
  const c = Number(state.options["real-point"] || 0);
  $("time-label").textContent = `${label} · θ = ${fmt(theta, 4)} · ψ = ${fmt(psi, 4)}`;
  const turns = data.trajectories.turns;
  $("player-step").hidden = !turns;
  $("player-step").disabled = !(playback.phase || canSplit());
  $("player-step").title = !turns ? "" : !(playback.phase || canSplit())
    ? "needs a save at every step here (at most 1,000 steps) and a step after this one"
    : `one player's move: ${turns.map(([p, k]) => `${p}${k > 1 ? ` ×${k}` : ""}`)
      .join(", then ")}`;
  if (gaussianShown()) { drawGaussianSpace(label, mover); return; }
  const { ctx, w, h } = canvas2d($("data-space"));
  const box = { left: 62, top: 10, width: w - 78, height: h - 52 };
  const half = Math.max(2, 1.2 * Math.max(Math.abs(theta - c), 1));
  const f = frame(box, c - half, c + half, -2.5, 2.5);
  ctx.save();
  ctx.beginPath(); ctx.rect(box.left, box.top, box.width, box.height); ctx.clip();
  ctx.strokeStyle = "#bbb";
  ctx.beginPath();
  ctx.moveTo(box.left, f.py(0)); ctx.lineTo(box.left + box.width, f.py(0));
  ctx.stroke();
  const bar = (x, colour) => {
    ctx.fillStyle = colour;
    ctx.fillRect(f.px(x) - 4, f.py(2), 8, f.py(0) - f.py(2));
  };
  bar(c, "#0072B2");
  bar(theta, "#E69F00");
  ctx.strokeStyle = "#D55E00";
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.moveTo(f.px(c - half), f.py(psi * (c - half)));
  ctx.lineTo(f.px(c + half), f.py(psi * (c + half)));
  ctx.stroke();
  ctx.restore();
  axes(ctx, f, "x (data space)", "mass · C(x)");
  ctx.font = "12px system-ui, sans-serif";
  // Mid-step (one player's move shown): which player has just moved.
  const moved = (player) => (mover === player ? " (moved)" : "");
  const key = [["#0072B2", `real point c = ${fmt(c)}`],
               ["#E69F00", `generator θ = ${fmt(theta, 3)}${moved("generator")}`],
               ["#D55E00", `critic C(x) = ψx, ψ = ${fmt(psi, 3)}${moved("discriminator")}`]];
  key.forEach(([colour, text], k) => {
    ctx.fillStyle = colour;
    ctx.fillRect(box.left + 8, box.top + 8 + 16 * k, 10, 10);
    ctx.fillStyle = "#111";
    ctx.textAlign = "left";
    ctx.textBaseline = "top";
    ctx.fillText(text, box.left + 24, box.top + 6 + 16 * k);
  });
  $("data-space").dataset.theta = String(theta);
  $("data-space").dataset.psi = String(psi);
  $("data-space").dataset.index = String(i);
  $("data-space").dataset.phase = String(playback.phase);
  $("data-space").dataset.mover = mover;
}

function stepPlayback(delta) {
  const last = Number($("time").max);
  playback.index = Math.max(0, Math.min(last, playback.index + delta));
  playback.phase = 0;
  drawDataSpace();
  drawPortrait();
}

// One player's move: the first mover's, then the second's (which completes the step).
function playerStep() {
  if (playback.phase) {
    playback.phase = 0;
    playback.index += 1;
  } else if (canSplit()) {
    playback.phase = 1;
  }
  drawDataSpace();
  drawPortrait();
}

export function wirePlayback() {
  $("play").addEventListener("click", () => {
    if (playback.timer) { stopPlayback(); return; }
    if (playback.index >= Number($("time").max)) playback.index = 0;
    $("play").textContent = "❚❚ pause";
    const stride = Math.max(1, Math.round(Number($("time").max) / 150));
    playback.timer = setInterval(() => {
      if (playback.index >= Number($("time").max)) { stopPlayback(); return; }
      stepPlayback(stride);
    }, 40);
  });
  $("step-back").addEventListener("click", () => { stopPlayback(); stepPlayback(-1); });
  $("step-forward").addEventListener("click", () => { stopPlayback(); stepPlayback(1); });
  $("player-step").addEventListener("click", () => { stopPlayback(); playerStep(); });
  $("time").addEventListener("input", () => {
    stopPlayback();
    playback.index = Number($("time").value);
    playback.phase = 0;
    drawDataSpace();
    drawPortrait();
  });
}
