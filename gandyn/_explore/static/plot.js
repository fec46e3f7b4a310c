// The canvas plotting kit: a canvas drawn at its shown size, a frame (data ⇄ pixels), axes
// with ticks, a smoothed lattice, arrows, a star, wrapped text, and the line styles the
// views share (a colour per trajectory, a dash per outcome).

import { $ } from "./dom.js";
import { fmt } from "./format.js";
import { OPTIONS } from "./state.js";

// One colour per trajectory (Okabe & Ito: distinct under colour vision deficiencies),
// shared by the plane, the series and the table; the status is the line's dash.
const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000",
                 "#999999"];
export const trajectoryColour = (k) => PALETTE[k % PALETTE.length];

// A canvas drawn at the width it is shown (its design width, or the page's width where
// that is narrower: a phone), so that its text keeps its size instead of being scaled
// down with the picture; a square canvas stays square. `dataset.width` is the drawn
// width in CSS pixels (clicks and hovers are mapped with it).
export function canvas2d(canvas) {
  const ratio = window.devicePixelRatio || 1;
  if (!canvas.dataset.designWidth) {
    canvas.dataset.designWidth = canvas.width;
    canvas.dataset.designHeight = canvas.height;
  }
  const designW = Number(canvas.dataset.designWidth);
  const designH = Number(canvas.dataset.designHeight);
  const room = $("views").clientWidth;
  const w = room > 0 ? Math.min(designW, Math.floor(room)) : designW;
  const h = designW === designH ? w : designH;
  canvas.dataset.width = String(w);
  canvas.dataset.height = String(h);
  if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
    canvas.width = Math.round(w * ratio);
    canvas.height = Math.round(h * ratio);
    canvas.style.width = `${w}px`;
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, w, h);
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, w, h);
  ctx.font = "12px system-ui, sans-serif";
  return { ctx, w, h };
}

export function ticks(lo, hi, count = 5) {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => span / s <= count)
    || power * 10;
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  }
  return out;
}

// A plot area [x0, x1] × [y0, y1] drawn in the box (left, top, width, height).
export function frame(box, x0, x1, y0, y1, log = false) {
  const ly = (y) => (log ? Math.log10(y) : y);
  return {
    box, x0, x1, y0, y1, log,
    px: (x) => box.left + ((x - x0) / (x1 - x0)) * box.width,
    py: (y) => box.top + (1 - (ly(y) - ly(y0)) / (ly(y1) - ly(y0))) * box.height,
    x: (px) => x0 + ((px - box.left) / box.width) * (x1 - x0),
    y: (py) => y0 + (1 - (py - box.top) / box.height) * (y1 - y0),
  };
}

export function axes(ctx, f, xlabel, ylabel) {
  const { box } = f;
  ctx.save();
  ctx.strokeStyle = "#333";
  ctx.lineWidth = 1;
  ctx.strokeRect(box.left, box.top, box.width, box.height);
  ctx.fillStyle = "#333";
  ctx.font = "11px system-ui, sans-serif";
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (const t of ticks(f.x0, f.x1)) {
    const x = f.px(t);
    ctx.beginPath();
    ctx.moveTo(x, box.top + box.height); ctx.lineTo(x, box.top + box.height + 4);
    ctx.stroke();
    ctx.fillText(fmt(t, 3), x, box.top + box.height + 6);
  }
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  const yt = f.log ? logTicks(f.y0, f.y1) : ticks(f.y0, f.y1);
  for (const t of yt) {
    const y = f.py(t);
    ctx.beginPath(); ctx.moveTo(box.left - 4, y); ctx.lineTo(box.left, y); ctx.stroke();
    // Never past the canvas's left edge (a long negative label lost its minus there):
    // the text is squeezed to the margin if it would not fit.
    ctx.fillText(f.log ? `1e${Math.round(Math.log10(t))}` : fmt(t, 3), box.left - 6, y,
                 Math.max(10, box.left - 8));
  }
  ctx.font = "12px system-ui, sans-serif";
  ctx.textAlign = "center";
  ctx.textBaseline = "bottom";
  ctx.fillText(xlabel, box.left + box.width / 2, box.top + box.height + 36);
  ctx.translate(box.left - 44, box.top + box.height / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = "bottom";
  ctx.fillText(ylabel, 0, 0);
  ctx.restore();
}

function logTicks(lo, hi) {
  const a = Math.ceil(Math.log10(lo));
  const b = Math.floor(Math.log10(hi));
  const every = Math.max(1, Math.ceil((b - a + 1) / 5));
  const out = [];
  for (let k = a; k <= b; k += every) out.push(10 ** k);
  return out;
}

// An n × n lattice (row j = 0 at the bottom) drawn smoothed over `box`; `colourAt(k)`
// gives the [r, g, b] of lattice point k = j·n + i.
export function drawLattice(ctx, box, n, colourAt) {
  const image = document.createElement("canvas");
  image.width = n; image.height = n;
  const ictx = image.getContext("2d");
  const pixels = ictx.createImageData(n, n);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      pixels.data.set([...colourAt(j * n + i), 255], ((n - 1 - j) * n + i) * 4);
    }
  }
  ictx.putImageData(pixels, 0, 0);
  ctx.imageSmoothingEnabled = true;
  const cell = box.width / (n - 1);
  ctx.drawImage(image, box.left - cell / 2, box.top - cell / 2, box.width + cell,
                box.height + cell);
}

export function arrow(ctx, x0, y0, x1, y1) {
  const angle = Math.atan2(y1 - y0, x1 - x0);
  const head = Math.min(4, Math.hypot(x1 - x0, y1 - y0) * 0.45);
  ctx.beginPath();
  ctx.moveTo(x0, y0); ctx.lineTo(x1, y1);
  ctx.lineTo(x1 - head * Math.cos(angle - 0.45), y1 - head * Math.sin(angle - 0.45));
  ctx.moveTo(x1, y1);
  ctx.lineTo(x1 - head * Math.cos(angle + 0.45), y1 - head * Math.sin(angle + 0.45));
  ctx.stroke();
}

export function head(ctx, x0, y0, x1, y1, colour) {
  const angle = Math.atan2(y1 - y0, x1 - x0);
  ctx.save();
  ctx.fillStyle = colour;
  ctx.beginPath();
  ctx.moveTo(x1, y1);
  ctx.lineTo(x1 - 9 * Math.cos(angle - 0.4), y1 - 9 * Math.sin(angle - 0.4));
  ctx.lineTo(x1 - 9 * Math.cos(angle + 0.4), y1 - 9 * Math.sin(angle + 0.4));
  ctx.closePath();
  ctx.fill();
  ctx.restore();
}

export function statusDash(status) {
  const s = OPTIONS.statuses.find((x) => x.name === status);
  return s && s.dash ? s.dash : [];
}

export function star(ctx, x, y, r) {
  ctx.save();
  ctx.beginPath();
  for (let k = 0; k < 10; k++) {
    const radius = k % 2 ? r * 0.45 : r;
    const a = -Math.PI / 2 + (k * Math.PI) / 5;
    ctx.lineTo(x + radius * Math.cos(a), y + radius * Math.sin(a));
  }
  ctx.closePath();
  ctx.fillStyle = "gold";
  ctx.strokeStyle = "#000";
  ctx.lineWidth = 1;
  ctx.fill(); ctx.stroke();
  ctx.restore();
}

export function wrap(ctx, text, x, y, width) {
  let line = "";
  for (const word of text.split(" ")) {
    if (ctx.measureText(`${line} ${word}`).width > width && line) {
      ctx.fillText(line, x, y);
      y += 16;
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  ctx.fillText(line, x, y);
}
