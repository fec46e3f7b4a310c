// Requests to the server: one kind each for the field, the spectrum and the trajectories;
// the latest of a kind wins. While one runs, its shown result is greyed as stale and a note
// counts the seconds.

import { $ } from "./dom.js";
import { clearError, showError } from "./errors.js";
import { data, query, settingsText, shownSettings, state, writeLocation } from "./state.js";

const ENDPOINTS = { field: "/api/field", spectrum: "/api/spectrum",
                    trajectories: "/api/trajectory" };
// Per kind: the number of its latest request, and the controller that aborts it.
const sequence = { field: 0, spectrum: 0, trajectories: 0 };
const controllers = {};

// What the page does once an answer is in: main.js gives its redraw (the views are not
// imported here, so that requests know nothing of drawing).
let redraw = () => {};
export function onAnswer(draw) {
  redraw = draw;
}

// The JSON answer of `path?params`; a refusal throws its one-line error.
export async function get(path, params, signal) {
  const response = await fetch(`${path}?${params.toString()}`, { signal });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

// A burst of changes (a dragged slider) as one request per kind, 60 ms after the last.
let pending = null;
let pendingKinds = new Set();

export function refreshSoon(...kinds) {
  kinds.forEach((k) => pendingKinds.add(k));
  clearTimeout(pending);
  pending = setTimeout(() => {
    const all = [...pendingKinds];
    pendingKinds = new Set();
    refresh(...all);
  }, 60);
}

// Latest wins: a newer request of a kind aborts the one in flight (its answer would
// be stale); until an answer comes the shown result is greyed as stale, and a note
// says a computation (or a first compile) is under way.
export function refresh(...kinds) {
  writeLocation();
  for (const kind of kinds) {
    const n = ++sequence[kind];
    if (controllers[kind]) controllers[kind].abort();
    if (kind === "trajectories" && state.points.length === 0) {
      data.trajectories = null;
      clearError(kind);
      setStale(kind, false);
      document.body.classList.remove(`busy-${kind}`);
      redraw();
      continue;
    }
    const controller = new AbortController();
    controllers[kind] = controller;
    const settings = settingsText();
    const step = state.step;
    document.body.classList.add(`busy-${kind}`);
    setStale(kind, true);
    updateBusy();
    get(ENDPOINTS[kind], query(kind === "trajectories"), controller.signal).then((body) => {
      if (n !== sequence[kind]) return;
      data[kind] = Object.assign(body, { step });  // the h it was computed for
      shownSettings[kind] = settings;
      clearError(kind);
      setStale(kind, false);
      redraw();
    }, (error) => {
      if (n !== sequence[kind] || error.name === "AbortError") return;
      data[kind] = data[kind] || { failed: error.message };
      showError(kind, error.message);
      redraw();
    }).finally(() => {
      if (n === sequence[kind]) {
        document.body.classList.remove(`busy-${kind}`);
        updateBusy();
      }
    });
  }
}

function setStale(kind, stale) {
  document.body.classList.toggle(`stale-${kind}`, stale);
  if (kind === "spectrum") $("verdict").dataset.stale = stale ? "true" : "false";
}

// The note while a request runs, with the seconds it has taken so far (a fixed
// estimate was wrong for the slow compiles: cgd's first run takes over 30 s).
let busySince = 0;
let busyTimer = null;
function updateBusy() {
  const busy = [...document.body.classList].filter((c) => c.startsWith("busy-"))
    .map((c) => c.slice(5));
  if (!busy.length) {
    $("busy").hidden = true;
    busySince = 0;
    if (busyTimer) { clearInterval(busyTimer); busyTimer = null; }
    return;
  }
  if (!busySince) busySince = Date.now();
  if (!busyTimer) busyTimer = setInterval(updateBusy, 1000);
  const seconds = Math.floor((Date.now() - busySince) / 1000);
  $("busy").hidden = false;
  $("busy").textContent = `computing ${busy.join(", ")}… ${seconds} s (a method's first run `
    + "compiles it: seconds for most, up to a minute for second-order methods such as cgd; "
    + "greyed results are the previous settings)";
}
