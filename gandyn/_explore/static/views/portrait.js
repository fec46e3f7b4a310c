// View: the portrait. The field on the drawing plane coloured by speed, with arrows, the
// trajectories, the equilibrium and a speed colour bar; the hover readout, and clicks
// mapped to starts.

import { $ } from "../dom.js";
import { fmt, round } from "../format.js";
import { dataSpaceShown, gaussianShown, playback, shownState } from "../playback.js";
import {
  arrow, axes, canvas2d, drawLattice, frame, head, star, statusDash, ticks, trajectoryColour,
  wrap
} from "../plot.js";
import { data, settingsText, shownSettings } from "../state.js";

// Light-to-dark blue for speed: t = 0 (at rest) … 1 (the lattice's largest ‖v‖), linear.
function speedColour(t) {
  const a = [252, 253, 255];
  const b = [158, 202, 225];
  return a.map((v, i) => Math.round(v + (b[i] - v) * t));
}

let portraitFrame = null;

export function drawPortrait() {
  const { ctx, w, h } = canvas2d($("portrait"));
  const field = data.field;
  if (!field || field.failed) {
    ctx.fillStyle = "#666";
    wrap(ctx, field ? `no field: ${field.failed}` : "computing the field…", 20, 30, w - 40);
    return;
  }
  const n = field.n;
  const box = { left: 62, top: 12, width: w - 120, height: h - 62 };
  const f = frame(box, field.x[0], field.x[n - 1], field.y[0], field.y[n - 1]);
  portraitFrame = f;
  // Speed as a background image, one pixel per lattice point, smoothed.
  // Linear in ‖v‖ from 0 to its largest value on the lattice, as `portrait` colours it.
  const hi = Math.max(...field.speed.filter((s) => s !== null), 0);
  ctx.save();
  ctx.beginPath(); ctx.rect(box.left, box.top, box.width, box.height); ctx.clip();
  drawLattice(ctx, box, n, (k) => {
    const s = field.speed[k];
    return speedColour(s === null || !(hi > 0) ? 0 : s / hi);
  });
  const cell = box.width / (n - 1);
  // Arrows of one length, pointing along the projected field.
  const stride = Math.max(n > 30 ? 2 : 1, Math.ceil(14 / cell));  // arrows ≥ 14 px apart
  const length = 0.8 * cell * stride;
  ctx.strokeStyle = "rgba(40, 40, 40, 0.75)";
  ctx.lineWidth = 1;
  for (let j = 0; j < n; j += stride) {
    for (let i = 0; i < n; i += stride) {
      const u = field.u[j * n + i];
      const v = field.w[j * n + i];
      if (u === null || v === null) continue;
      const norm = Math.hypot(u, v);
      if (!(norm > 0)) continue;
      const cx = f.px(field.x[i]);
      const cy = f.py(field.y[j]);
      const dx = (u / norm) * length / 2;
      const dy = -(v / norm) * length / 2;
      arrow(ctx, cx - dx, cy - dy, cx + dx, cy + dy);
    }
  }
  // Trajectories, each coloured by its status.
  const rows = data.trajectories ? data.trajectories.trajectories : [];
  rows.forEach((row, k) => {
    const colour = trajectoryColour(k);
    ctx.strokeStyle = colour;
    ctx.fillStyle = colour;
    ctx.lineWidth = 1.8;
    ctx.setLineDash(statusDash(row.status));
    ctx.beginPath();
    let pen = false;
    const [xs, ys] = row.path;
    for (let t = 0; t < xs.length; t++) {
      if (xs[t] === null || ys[t] === null) { pen = false; continue; }
      const px = f.px(xs[t]);
      const py = f.py(ys[t]);
      if (!Number.isFinite(px) || !Number.isFinite(py) || Math.abs(px) > 1e6
          || Math.abs(py) > 1e6) {
        pen = false;
        continue;
      }
      if (pen) ctx.lineTo(px, py); else ctx.moveTo(px, py);
      pen = true;
    }
    ctx.stroke();
    ctx.setLineDash([]);
    // Direction: arrow heads a quarter and half of the way along the path.
    for (const share of [0.08, 0.3]) {
      const t = Math.max(1, Math.floor(share * xs.length));
      if (t < xs.length && [xs[t], ys[t], xs[t - 1], ys[t - 1]].every((v) => v !== null)) {
        const [ax, ay, bx, by] = [f.px(xs[t - 1]), f.py(ys[t - 1]), f.px(xs[t]), f.py(ys[t])];
        if (Math.hypot(bx - ax, by - ay) > 0.5 && Math.abs(bx) < 1e5 && Math.abs(by) < 1e5) {
          head(ctx, ax, ay, bx, by, colour);
        }
      }
    }
    const sx = f.px(row.start[0]);
    const sy = f.py(row.start[1]);
    ctx.beginPath(); ctx.arc(sx, sy, 4.5, 0, 2 * Math.PI); ctx.fill();
    ctx.strokeStyle = "#000"; ctx.lineWidth = 0.8; ctx.stroke();
    ctx.fillStyle = "#111";
    ctx.fillText(String(k + 1), sx + 6, sy - 6);
  });
  // The point of trajectory 1 the data space shows.
  if (dataSpaceShown() && rows.length && !(gaussianShown() && playback.phase)) {
    const { theta, psi } = shownState();
    if (theta !== null && psi !== null && theta !== undefined && psi !== undefined) {
      const px = f.px(theta);
      const py = f.py(psi);
      ctx.fillStyle = trajectoryColour(0);
      ctx.strokeStyle = "#000";
      ctx.beginPath();
      ctx.moveTo(px, py - 7); ctx.lineTo(px + 7, py);
      ctx.lineTo(px, py + 7); ctx.lineTo(px - 7, py);
      ctx.closePath(); ctx.fill(); ctx.stroke();
    }
  }
  // The equilibrium.
  if (field.equilibrium) star(ctx, f.px(field.equilibrium[0]), f.py(field.equilibrium[1]), 9);
  ctx.restore();
  axes(ctx, f, field.labels[0], field.labels[1]);
  $("portrait").dataset.labels = field.labels.join(" | ");
  if (!rows.length) {
    ctx.fillStyle = "rgba(0,0,0,0.55)";
    ctx.textAlign = "center";
    ctx.fillText("click anywhere to start a trajectory", box.left + box.width / 2, box.top + 18);
    ctx.textAlign = "left";
  }
  // The caption names the settings of what is drawn (not of a request in flight).
  const drawn = (rows.length && shownSettings.trajectories) || shownSettings.field
    || settingsText();
  $("portrait-caption").textContent = `${drawn} — field coloured by speed ‖v‖ (light: slow, `
    + `up to ${fmt(hi, 3)} at the darkest), ★ the equilibrium; trajectories: one colour each, `
    + "dash by outcome, arrows for the direction";
  drawSpeedBar(ctx, box, hi);
}

// The speed colour bar: a strip along the portrait's right edge, 0 … max ‖v‖, with
// ticks and their values on its right and its label beyond them.
function drawSpeedBar(ctx, box, hi) {
  const x = box.left + box.width + 4;
  for (let k = 0; k < box.height; k++) {
    const [r, g, b] = speedColour(1 - k / box.height);
    ctx.fillStyle = `rgb(${r},${g},${b})`;
    ctx.fillRect(x, box.top + k, 10, 1);
  }
  ctx.save();
  ctx.strokeStyle = "#333";
  ctx.lineWidth = 1;
  ctx.strokeRect(x, box.top, 10, box.height);
  ctx.fillStyle = "#333";
  ctx.font = "11px system-ui, sans-serif";
  ctx.textAlign = "left";
  ctx.textBaseline = "middle";
  const at = (v) => box.top + box.height * (1 - v / hi);
  const shown = hi > 0 ? ticks(0, hi, 4) : [0];
  for (const t of shown) {
    const y = hi > 0 ? at(t) : box.top + box.height;
    ctx.beginPath(); ctx.moveTo(x + 10, y); ctx.lineTo(x + 14, y); ctx.stroke();
    ctx.fillText(fmt(t, 3), x + 16, y, 24);
  }
  $("portrait").dataset.speedTicks = shown.map((t) => fmt(t, 3)).join(",");
  ctx.translate(x + 48, box.top + box.height / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = "center";
  ctx.fillText(`speed ‖v‖ (0 … ${fmt(hi, 3)})`, 0, 0);
  ctx.restore();
}

// The pointer over the portrait, in the canvas's drawn pixels (null: elsewhere): the
// readout is computed again at each redraw, so it never describes a previous run.
let hover = null;
const HINT = "hover the plane for coordinates and speed";

// The pointer left the plane: the readout shows its hint again.
export function hoverLeft() {
  hover = null;
  showReadout();
}

export function readout(event) {
  const canvas = $("portrait");
  const rect = canvas.getBoundingClientRect();
  const scale = Number(canvas.dataset.width) / rect.width;
  hover = { x: (event.clientX - rect.left) * scale, y: (event.clientY - rect.top) * scale };
  showReadout();
}

export function showReadout() {
  const field = data.field;
  const box = portraitFrame && portraitFrame.box;
  const inside = hover && box && hover.x >= box.left && hover.x <= box.left + box.width
    && hover.y >= box.top && hover.y <= box.top + box.height;
  if (!inside || !field || field.failed) {
    $("readout").textContent = HINT;
    return;
  }
  const { x, y } = hover;
  const a = portraitFrame.x(x);
  const b = portraitFrame.y(y);
  const n = field.n;
  const i = Math.round(((a - field.x[0]) / (field.x[n - 1] - field.x[0])) * (n - 1));
  const j = Math.round(((b - field.y[0]) / (field.y[n - 1] - field.y[0])) * (n - 1));
  const speed = field.speed[j * n + i];
  let text = `${field.labels[0].split(" ")[0]} = ${fmt(a, 4)}, ${field.labels[1].split(" ")[0]} = `
    + `${fmt(b, 4)} · ‖v‖ ≈ ${fmt(speed, 3)}`;
  const rows = data.trajectories ? data.trajectories.trajectories : [];
  let best = null;
  rows.forEach((row, k) => {
    const [xs, ys] = row.path;
    for (let t = 0; t < xs.length; t++) {
      if (xs[t] === null || ys[t] === null) continue;
      const d = Math.hypot(portraitFrame.px(xs[t]) - x, portraitFrame.py(ys[t]) - y);
      if (d < 8 && (!best || d < best.d)) best = { d, k, t };
    }
  });
  if (best) {
    text += ` · trajectory ${best.k + 1} at step ${data.trajectories.steps[best.t]} `
      + `(${rows[best.k].status})`;
  }
  $("readout").textContent = text;
}

export function portraitPoint(event) {
  if (!portraitFrame) return null;
  const rect = $("portrait").getBoundingClientRect();
  const scale = Number($("portrait").dataset.width) / rect.width;  // a narrow screen shrinks it
  const x = (event.clientX - rect.left) * scale;
  const y = (event.clientY - rect.top) * scale;
  const { box } = portraitFrame;
  if (x < box.left || x > box.left + box.width || y < box.top || y > box.top + box.height) {
    return null;
  }
  return [round(portraitFrame.x(x)), round(portraitFrame.y(y))];
}
