// View: the time series of every trajectory (distance to the equilibrium, both losses,
// speed).

import { $ } from "../dom.js";
import { axes, canvas2d, frame, statusDash, trajectoryColour } from "../plot.js";
import { data, gameInfo } from "../state.js";

export const SERIES = [
  ["distance", "distance to equilibrium ‖y − y*‖", true],
  ["generator_loss", "generator loss L_G", false],
  ["discriminator_loss", "discriminator loss L_D", false],
  ["speed", "speed ‖v‖", true],
];
const PLAYER_TITLES = { generator_loss: "player 1's loss f₁",
                        discriminator_loss: "player 2's loss f₂" };

export function drawSeries() {
  const rows = data.trajectories ? data.trajectories.trajectories : [];
  const steps = data.trajectories ? data.trajectories.steps : [];
  for (const [key, title, log] of SERIES) {
    const { ctx, w, h } = canvas2d($(`series-${key}`));
    ctx.fillStyle = "#222";
    ctx.font = "12px system-ui, sans-serif";
    ctx.fillText(gameInfo().gan ? title : PLAYER_TITLES[key] || title, 56, 13);
    const values = rows.flatMap((r) => r[key]).filter((v) => v !== null && (!log || v > 0));
    if (!rows.length || !values.length) {
      ctx.fillStyle = "#888";
      ctx.fillText(rows.length ? "not available for this game" : "no trajectory yet", 52, 40);
      continue;
    }
    let lo = Math.min(...values);
    let hi = Math.max(...values);
    if (log) { lo = 10 ** Math.floor(Math.log10(lo)); hi = 10 ** Math.ceil(Math.log10(hi)); }
    if (hi === lo) { hi += log ? hi * 9 : 1; lo -= log ? 0 : 1; }
    const box = { left: 56, top: 22, width: w - 68, height: h - 62 };
    const f = frame(box, steps[0], steps[steps.length - 1] || 1, lo, hi, log);
    ctx.save();
    ctx.beginPath(); ctx.rect(box.left, box.top, box.width, box.height); ctx.clip();
    for (const [k, row] of rows.entries()) {
      ctx.strokeStyle = trajectoryColour(k);
      ctx.setLineDash(statusDash(row.status));
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      let pen = false;
      row[key].forEach((v, t) => {
        if (v === null || (log && !(v > 0))) { pen = false; return; }
        const x = f.px(steps[t]);
        const y = f.py(v);
        if (pen) ctx.lineTo(x, y); else ctx.moveTo(x, y);
        pen = true;
      });
      ctx.stroke();
      ctx.setLineDash([]);
    }
    ctx.restore();
    axes(ctx, f, "step", "");
  }
}
