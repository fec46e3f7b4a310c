// gandyn explore: the page. It only draws; every number comes from the server, which
// computes it with gandyn's own compiled functions (simulate, the game's field,
// stability_report). The whole state lives in the URL's query, named as the API's
// (and the command line's) parameters, so a view is a link.
// This entry point wires the modules (one concept each: state.js, api.js, controls.js,
// plot.js, a file per view under views/) and starts the page.

import { get, onAnswer, refresh } from "./api.js";
import { syncControls, syncPlane, wireControls } from "./controls.js";
import { $ } from "./dom.js";
import { showError } from "./errors.js";
import { exportName } from "./export.js";
import { fromLocation, OPTIONS, setOptions } from "./state.js";
import { drawDataSpace, wirePlayback } from "./views/dataspace.js";
import { drawPortrait, showReadout } from "./views/portrait.js";
import { drawSeries } from "./views/series.js";
import { drawSpectrum } from "./views/spectrum.js";
import { drawLegend, drawTable } from "./views/table.js";

function redraw() {
  if (!OPTIONS) return;
  syncPlane();
  drawDataSpace();
  drawPortrait();
  showReadout();
  drawSpectrum();
  drawSeries();
  drawTable();
  drawLegend();
  const name = exportName();
  $("export-csv").download = `${name}.csv`;
}

async function start() {
  try {
    setOptions(await get("/api/options", new URLSearchParams()));
  } catch (error) {
    showError("page", `cannot reach the gandyn server: ${error.message}`);
    return;
  }
  fromLocation();
  wireControls(redraw);
  wirePlayback();
  syncControls();
  drawLegend();
  redraw();
  refresh("field", "spectrum", "trajectories");
}

onAnswer(redraw);
start();
