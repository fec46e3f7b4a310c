// The page's state: the registries (`/api/options`), what is chosen (game and its options,
// loss, regularizers, method and its options, h, steps, view, plane, starts), the answers
// shown, and the URL's query that holds it all, named as the API's (and the command line's)
// parameters, so that a view is a link.

import { $ } from "./dom.js";
import { showError } from "./errors.js";
import { fmt, round } from "./format.js";

// Games whose parameters live in a bounded set: the view's default half-width
// (matching pennies plays probabilities in [0, 1]², drawn around (½, ½)).
export const VIEW = { "matching-pennies": 0.5 };
export const shownSettings = {};
export let OPTIONS = null;
// The registries, as `/api/options` answers them (set once, when the page starts).
export function setOptions(options) {
  OPTIONS = options;
}
export const state = { game: "", options: {}, loss: "", regs: [], method: "", methodOptions: {},
                       step: 0.1, steps: 1000, lim: 2.5, plane: "", points: [] };
export const data = { field: null, spectrum: null, trajectories: null };

export const gameInfo = () => OPTIONS.games.find((g) => g.name === state.game);
// The chosen method's declared options (none for a method the registries do not know:
// the server names it in its error).
export const methodOptionList = () => (OPTIONS.methods.find((m) => m.name === state.method)
                                       || {}).options || [];

// Options (a game's or a method's) that differ from their defaults, as query pairs.
export function given(options, values) {
  return options.filter((o) => values[o.name] !== undefined && values[o.name] !== o.default)
    .map((o) => [o.name, o.type === "bool" ? (values[o.name] ? "true" : "false")
      : String(values[o.name])]);
}

function readOptions(q, options) {
  const values = {};
  for (const o of options) {
    const text = q.get(o.name);
    if (text === null) values[o.name] = o.default;
    else if (o.type === "bool") values[o.name] = ["1", "true", "on", ""]
      .includes(text.toLowerCase());
    else if (o.type === "int" || o.type === "float") values[o.name] = Number(text);
    else values[o.name] = text;
  }
  return values;
}

export function query(withPoints = true) {
  const q = new URLSearchParams();
  q.append("game", state.game);
  for (const [name, value] of given(gameInfo().options, state.options)) q.append(name, value);
  if (gameInfo().gan) {
    q.append("loss", state.loss);
    for (const [name, weight] of state.regs) q.append("reg", `${name}=${weight}`);
  }
  q.append("method", state.method);
  for (const [name, value] of given(methodOptionList(), state.methodOptions)) {
    q.append(name, value);
  }
  if (state.plane) q.append("plane", state.plane);
  q.append("step", String(state.step));
  q.append("steps", String(state.steps));
  q.append("lim", String(state.lim));
  if (withPoints) for (const [a, b] of state.points) q.append("point", `${round(a)},${round(b)}`);
  return q;
}

export function fromLocation() {
  const q = new URLSearchParams(window.location.search);
  const d = OPTIONS.defaults;
  state.game = q.get("game") || d.game;
  if (!OPTIONS.games.some((g) => g.name === state.game)) {
    showError("page", `unknown game ${JSON.stringify(state.game)} in the link; showing ${d.game}`);
    state.game = d.game;
  }
  state.options = readOptions(q, gameInfo().options);
  state.loss = q.get("loss") || d.loss;
  state.regs = q.getAll("reg").map((r) => {
    const i = r.indexOf("=");
    return i < 0 ? [r, 1] : [r.slice(0, i), Number(r.slice(i + 1))];
  });
  state.method = q.get("method") || d.method;
  state.methodOptions = readOptions(q, methodOptionList());
  state.plane = q.get("plane") || "";
  state.step = Number(q.get("step") || d.step);
  state.steps = Number(q.get("steps") || d.steps);
  state.lim = Number(q.get("lim") || VIEW[state.game] || d.lim);
  const linked = q.getAll("point").map((text) => [text, text.split(",").map(Number)]);
  const planar = ([, p]) => p.length === 2 && p.every(Number.isFinite);
  const dropped = linked.filter((entry) => !planar(entry)).map(([text]) => `point=${text}`);
  if (dropped.length) {
    // Said, not dropped silently (a link holding a command line's --init, say).
    showError("link", `${dropped.join(", ")} not drawn: a point of the page is two `
      + "numbers a,b of its drawing plane (the command line's --init takes every "
      + "parameter: use gandyn simulate or portrait for that start)");
  }
  state.points = linked.filter(planar).map(([, p]) => p).slice(0, OPTIONS.limits.points);
}

export function writeLocation() {
  const url = `${window.location.pathname}?${query().toString()}`;
  window.history.replaceState(null, "", url);
  $("share").href = window.location.href;
  const csv = $("export-csv");
  csv.href = `/api/trajectory.csv?${query().toString()}`;
  csv.classList.toggle("disabled", state.points.length === 0);
}

export function settingsText() {
  const options = given(gameInfo().options, state.options).map(([n, v]) => `${n}=${v}`);
  return `${state.game}${options.length ? ` (${options.join(", ")})` : ""}`
    + `${gameInfo().gan ? ` · ${state.loss}` : ""}`
    + `${regText()} · ${methodText()} · h = ${fmt(state.step, 6)} · ${state.steps} steps`
    + `${state.plane ? ` · plane ${state.plane}` : ""}`;
}

// The method with the options it was given: "altgd (discriminator-steps=5)".
function methodText() {
  const pairs = given(methodOptionList(), state.methodOptions).map(([n, v]) => `${n}=${v}`);
  return `${state.method}${pairs.length ? ` (${pairs.join(", ")})` : ""}`;
}

function regText() {
  return gameInfo().gan && state.regs.length
    ? ` + ${state.regs.map(([n, w]) => `${n}=${w}`).join(" + ")}` : "";
}
