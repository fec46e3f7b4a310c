// The controls, built from the registries: game and its options, loss, regularizers, method
// and its options, step, steps, view, drawing plane. Each change updates the state and asks
// again for what it changes.

import { refresh, refreshSoon } from "./api.js";
import { $ } from "./dom.js";
import { showError } from "./errors.js";
import { exportPng } from "./export.js";
import { data, gameInfo, methodOptionList, OPTIONS, state, VIEW, writeLocation } from "./state.js";
import { hoverLeft, portraitPoint, readout } from "./views/portrait.js";

function option(select, entries, chosen) {
  select.replaceChildren(...entries.map((e) => {
    const o = document.createElement("option");
    o.value = e.name;
    o.textContent = e.name;
    o.title = e.description || "";
    return o;
  }));
  select.value = chosen;
}

function groupedMethods(select, methods, chosen) {
  const order = ["flows (ODE solvers)", "first-order maps", "optimizer-based", "second-order",
                 "modified flows"];
  const groups = [...new Set([...order, ...methods.map((m) => m.group || "other")])];
  select.replaceChildren(...groups.map((g) => {
    const members = methods.filter((m) => (m.group || "other") === g);
    if (!members.length) return null;
    const box = document.createElement("optgroup");
    box.label = g;
    box.append(...members.map((e) => {
      const o = document.createElement("option");
      o.value = e.name;
      o.textContent = e.name;
      o.title = e.description || "";
      return o;
    }));
    return box;
  }).filter(Boolean));
  select.value = chosen;
}

// A field per declared option (a game's or a method's, as the registries declare
// them: type, bounds, choices, help), its id `${prefix}-${name}`; the server checks
// each value with the command line's parsing.
function optionFields(box, options, values, prefix, changed) {
  box.replaceChildren();
  for (const o of options) {
    const label = document.createElement("label");
    label.textContent = `${o.name} `;
    if (o.help) label.title = o.help;
    let input;
    if (o.choices) {
      input = document.createElement("select");
      option(input, o.choices.map((c) => ({ name: c })), values[o.name]);
    } else {
      input = document.createElement("input");
      if (o.type === "bool") {
        input.type = "checkbox";
        input.checked = Boolean(values[o.name]);
      } else {
        input.type = o.type === "str" ? "text" : "number";
        if (o.type === "int") input.step = "1";
        if (o.type === "float") input.step = "any";
        if (o.low !== null && o.low !== undefined) input.min = String(o.low);
        if (o.high !== null && o.high !== undefined) input.max = String(o.high);
        input.value = values[o.name];
      }
    }
    input.id = `${prefix}-${o.name}`;
    input.addEventListener("change", () => {
      values[o.name] = o.type === "bool" ? input.checked
        : o.type === "int" || o.type === "float" ? Number(input.value) : input.value;
      changed();
    });
    label.append(input);
    box.append(label);
  }
}

function buildGameOptions() {
  optionFields($("game-options"), gameInfo().options, state.options, "option", () => {
    state.points = [];
    state.plane = "";  // the parameters (and their names) may have changed
    syncPlane();
    refresh("field", "spectrum", "trajectories");
  });
}

function buildMethodOptions() {
  optionFields($("method-options"), methodOptionList(), state.methodOptions, "method-option",
               () => refresh("spectrum", "trajectories"));
}

// The drawing plane of a game of more than two parameters, as `--plane`: the game's
// default, the rotation plane, the players' fields, or two coordinates by name.
function planeCoordinates() {
  if (data.field && data.field.coordinates) return data.field.coordinates;
  return state.plane.includes(",") ? state.plane.split(",") : [];
}

export function syncPlane() {
  const names = planeCoordinates();
  $("plane-set").hidden = names.length <= 2 && !state.plane;
  const pair = state.plane.includes(",");
  $("plane").value = pair ? "coordinates" : state.plane;
  $("plane-pair").hidden = !pair;
  if (pair) {
    const [x, y] = state.plane.split(",");
    for (const [id, chosen] of [["plane-x", x], ["plane-y", y]]) {
      // Rebuilt only when the names change (a redraw must not close an open list).
      const shown = [...$(id).options].map((o) => o.value).join(",");
      if (shown !== names.join(",")) option($(id), names.map((n) => ({ name: n })), chosen);
      else $(id).value = chosen;
    }
  }
  const field = data.field && !data.field.failed ? data.field : null;
  $("plane-help").textContent = !field ? "" : field.kind === "coordinates"
    ? `drawn: ${field.labels.join(" against ")}, the other parameters at the equilibrium's values`
    : `drawn: ${field.kind}, through the equilibrium; each axis named by its components`;
}

function planeChanged() {
  state.points = [];
  syncPlane();
  refresh("field", "trajectories");
}

function buildRegularizers() {
  const box = $("regs");
  box.replaceChildren();
  state.regs.forEach(([name, weight], i) => {
    const row = document.createElement("div");
    row.className = "reg";
    const select = document.createElement("select");
    option(select, OPTIONS.regularizers, name);
    select.setAttribute("aria-label", `regularizer ${i + 1}`);
    const slider = document.createElement("input");
    Object.assign(slider, { type: "range", min: "0", max: "2", step: "0.01",
                            value: String(weight) });
    slider.setAttribute("aria-label", `weight of regularizer ${i + 1}`);
    const number = document.createElement("input");
    Object.assign(number, { type: "number", min: "0", step: "any", value: String(weight) });
    const remove = document.createElement("button");
    Object.assign(remove, { type: "button", textContent: "×", title: "remove" });
    const changed = (value) => {
      state.regs[i] = [select.value, value];
      refreshSoon("field", "spectrum", "trajectories");
    };
    select.addEventListener("change", () => changed(Number(number.value)));
    slider.addEventListener("input", () => {
      number.value = slider.value;
      changed(Number(slider.value));
    });
    number.addEventListener("change", () => {
      slider.value = number.value;
      changed(Number(number.value));
    });
    remove.addEventListener("click", () => {
      state.regs.splice(i, 1);
      buildRegularizers();
      refresh("field", "spectrum", "trajectories");
    });
    row.append(select, slider, number, remove);
    box.append(row);
  });
  $("add-reg").disabled = state.regs.length >= OPTIONS.limits.regularizers;
}

export function syncControls() {
  $("game").value = state.game;
  const info = gameInfo();
  $("game-help").textContent = info.description;
  buildGameOptions();
  $("loss-row").hidden = !info.gan;
  $("reg-set").hidden = !info.gan;
  $("loss").value = state.loss;
  buildRegularizers();
  $("method").value = state.method;
  const method = OPTIONS.methods.find((m) => m.name === state.method);
  $("method-help").textContent = method ? method.description : "";
  buildMethodOptions();
  syncPlane();
  $("step").value = state.step;
  $("step-slider").value = Math.log10(state.step);
  $("steps").value = state.steps;
  $("lim").value = state.lim;
}

// `redraw`: the page's redraw (main.js), on a zoom toggle and a resize.
export function wireControls(redraw) {
  option($("game"), OPTIONS.games, state.game);
  option($("loss"), OPTIONS.losses, state.loss);
  groupedMethods($("method"), OPTIONS.methods, state.method);
  $("max-points").textContent = OPTIONS.limits.points;
  $("steps").max = OPTIONS.limits.steps;
  $("game").addEventListener("change", () => {
    state.game = $("game").value;
    state.options = Object.fromEntries(gameInfo().options.map((o) => [o.name, o.default]));
    state.points = [];
    state.plane = "";
    state.lim = VIEW[state.game] || OPTIONS.defaults.lim;
    syncControls();
    refresh("field", "spectrum", "trajectories");
  });
  $("loss").addEventListener("change", () => {
    state.loss = $("loss").value;
    refresh("field", "spectrum", "trajectories");
  });
  $("method").addEventListener("change", () => {
    state.method = $("method").value;
    state.methodOptions = Object.fromEntries(methodOptionList().map((o) => [o.name, o.default]));
    syncControls();
    refresh("spectrum", "trajectories");
  });
  $("step-slider").addEventListener("input", () => {
    state.step = Number((10 ** Number($("step-slider").value)).toPrecision(4));
    $("step").value = state.step;
    refreshSoon("spectrum", "trajectories");
  });
  $("zoom").addEventListener("change", redraw);
  $("plane").addEventListener("change", () => {
    const names = planeCoordinates();
    const value = $("plane").value;
    // Two coordinates: the first of each player's to begin with (θ1, ψ1).
    state.plane = value === "coordinates"
      ? `${names[0]},${names[Math.floor(names.length / 2)]}` : value;
    planeChanged();
  });
  for (const id of ["plane-x", "plane-y"]) {
    $(id).addEventListener("change", () => {
      state.plane = `${$("plane-x").value},${$("plane-y").value}`;
      planeChanged();
    });
  }
  $("portrait").addEventListener("mousemove", readout);
  $("portrait").addEventListener("mouseleave", hoverLeft);
  $("step").addEventListener("change", () => {
    state.step = Number($("step").value);
    $("step-slider").value = Math.log10(state.step);
    refresh("spectrum", "trajectories");
  });
  $("steps").addEventListener("change", () => {
    state.steps = Number($("steps").value);
    refresh("trajectories");
  });
  $("lim").addEventListener("change", () => {
    state.lim = Number($("lim").value);
    refresh("field");
  });
  $("add-reg").addEventListener("click", () => {
    const used = new Set(state.regs.map((r) => r[0]));
    const next = OPTIONS.regularizers.find((r) => !used.has(r.name)) || OPTIONS.regularizers[0];
    state.regs.push([next.name, 0.5]);
    buildRegularizers();
    refresh("field", "spectrum", "trajectories");
  });
  $("clear").addEventListener("click", () => {
    state.points = [];
    refresh("trajectories");
  });
  $("portrait").addEventListener("click", (event) => {
    const point = portraitPoint(event);
    if (!point) return;
    if (state.points.length >= OPTIONS.limits.points) {
      showError("page", `at most ${OPTIONS.limits.points} trajectories: clear some first`);
      return;
    }
    state.points.push(point);
    refresh("trajectories");
  });
  $("share").addEventListener("click", (event) => {
    event.preventDefault();
    writeLocation();
    if (navigator.clipboard) {
      navigator.clipboard.writeText(window.location.href).then(
        () => flash($("share"), "link copied"), () => flash($("share"), "copy the address bar"));
    }
  });
  $("export-png").addEventListener("click", exportPng);
  window.addEventListener("resize", redraw);
}

function flash(element, text) {
  const old = element.textContent;
  element.textContent = text;
  setTimeout(() => { element.textContent = old; }, 1500);
}
