// View: the table of trajectories and the legend of their outcomes' line styles.

import { refresh } from "../api.js";
import { $ } from "../dom.js";
import { fmt, growthText } from "../format.js";
import { trajectoryColour } from "../plot.js";
import { data, OPTIONS, state } from "../state.js";

export function drawTable() {
  const body = $("trajectories").querySelector("tbody");
  const rows = data.trajectories ? data.trajectories.trajectories : [];
  body.replaceChildren(...rows.map((row, k) => {
    const tr = document.createElement("tr");
    tr.dataset.status = row.status;
    const status = row.status + (row.diverged_at !== null ? ` at step ${row.diverged_at}` : "");
    const chip = document.createElement("span");
    chip.className = "chip";
    chip.style.background = trajectoryColour(k);
    const cells = [String(k + 1), `(${fmt(row.start[0], 3)}, ${fmt(row.start[1], 3)})`, status,
                   growthText(row.rate, 6)];
    cells.forEach((text, c) => {
      const td = document.createElement("td");
      if (c === 2) { td.className = "status"; td.append(chip); }
      td.append(text);
      tr.append(td);
    });
    const td = document.createElement("td");
    const remove = document.createElement("button");
    Object.assign(remove, { type: "button", textContent: "×", title: "remove this trajectory" });
    remove.addEventListener("click", () => {
      state.points.splice(k, 1);
      refresh("trajectories");
    });
    td.append(remove);
    tr.append(td);
    return tr;
  }));
  $("trajectories").dataset.count = rows.length;
}

// The line styles of the outcomes that occur (each trajectory has its own colour).
export function drawLegend() {
  const rows = data.trajectories && !data.trajectories.failed
    ? data.trajectories.trajectories : [];
  const occurring = new Set(rows.map((r) => r.status));
  const NS = "http://www.w3.org/2000/svg";
  $("legend").replaceChildren(...OPTIONS.statuses.filter((s) => occurring.has(s.name)).map((s) => {
    const span = document.createElement("span");
    span.dataset.status = s.name;
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("class", "legend-line");
    svg.setAttribute("viewBox", "0 0 30 8");
    svg.setAttribute("height", "8");
    const line = document.createElementNS(NS, "line");
    Object.entries({ x1: 0, y1: 4, x2: 30, y2: 4, stroke: "#333", "stroke-width": 2,
                     "stroke-dasharray": (s.dash || []).join(" ") })
      .forEach(([k, v]) => line.setAttribute(k, String(v)));
    svg.append(line);
    span.append(svg, ` ${s.name}`);
    return span;
  }));
}
