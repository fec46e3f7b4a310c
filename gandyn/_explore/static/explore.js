// gandyn explore: the page. It only draws; every number comes from the server, which
// computes it with gandyn's own compiled functions (simulate, the game's field,
// stability_report). The whole state lives in the URL's query, named as the API's
// (and the command line's) parameters, so a view is a link.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const SERIES = [
    ["distance", "distance to equilibrium ‖y − y*‖", true],
    ["generator_loss", "generator loss L_G", false],
    ["discriminator_loss", "discriminator loss L_D", false],
    ["speed", "speed ‖v‖", true],
  ];
  const PLAYER_TITLES = { generator_loss: "player 1's loss f₁", discriminator_loss: "player 2's loss f₂" };
  // One colour per trajectory (Okabe & Ito: distinct under colour vision deficiencies),
  // shared by the plane, the series and the table; the status is the line's dash.
  const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000",
                   "#999999"];
  const trajectoryColour = (k) => PALETTE[k % PALETTE.length];
  const controllers = {};
  // Games whose parameters live in a bounded set: the view's default half-width
  // (matching pennies plays probabilities in [0, 1]², drawn around (½, ½)).
  const VIEW = { "matching-pennies": 0.5 };
  const shownSettings = {};
  let OPTIONS = null;
  const state = { game: "", options: {}, loss: "", regs: [], method: "", methodOptions: {},
                  step: 0.1, steps: 1000, lim: 2.5, plane: "", points: [] };
  const data = { field: null, spectrum: null, trajectories: null };
  const sequence = { field: 0, spectrum: 0, trajectories: 0 };
  const errors = {};

  // ------------------------------------------------------------------------------------
  // State ⇄ query string

  const gameInfo = () => OPTIONS.games.find((g) => g.name === state.game);
  // The chosen method's declared options (none for a method the registries do not know:
  // the server names it in its error).
  const methodOptionList = () => (OPTIONS.methods.find((m) => m.name === state.method) || {}).options || [];

  // Options (a game's or a method's) that differ from their defaults, as query pairs.
  function given(options, values) {
    return options.filter((o) => values[o.name] !== undefined && values[o.name] !== o.default)
      .map((o) => [o.name, o.type === "bool" ? (values[o.name] ? "true" : "false") : String(values[o.name])]);
  }

  function readOptions(q, options) {
    const values = {};
    for (const o of options) {
      const text = q.get(o.name);
      if (text === null) values[o.name] = o.default;
      else if (o.type === "bool") values[o.name] = ["1", "true", "on", ""].includes(text.toLowerCase());
      else if (o.type === "int" || o.type === "float") values[o.name] = Number(text);
      else values[o.name] = text;
    }
    return values;
  }

  function query(withPoints = true) {
    const q = new URLSearchParams();
    q.append("game", state.game);
    for (const [name, value] of given(gameInfo().options, state.options)) q.append(name, value);
    if (gameInfo().gan) {
      q.append("loss", state.loss);
      for (const [name, weight] of state.regs) q.append("reg", `${name}=${weight}`);
    }
    q.append("method", state.method);
    for (const [name, value] of given(methodOptionList(), state.methodOptions)) q.append(name, value);
    if (state.plane) q.append("plane", state.plane);
    q.append("step", String(state.step));
    q.append("steps", String(state.steps));
    q.append("lim", String(state.lim));
    if (withPoints) for (const [a, b] of state.points) q.append("point", `${round(a)},${round(b)}`);
    return q;
  }

  function fromLocation() {
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

  function writeLocation() {
    const url = `${window.location.pathname}?${query().toString()}`;
    window.history.replaceState(null, "", url);
    $("share").href = window.location.href;
    const csv = $("export-csv");
    csv.href = `/api/trajectory.csv?${query().toString()}`;
    csv.classList.toggle("disabled", state.points.length === 0);
  }

  // ------------------------------------------------------------------------------------
  // Controls, built from the registries

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

  function syncPlane() {
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
      Object.assign(slider, { type: "range", min: "0", max: "2", step: "0.01", value: String(weight) });
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
      slider.addEventListener("input", () => { number.value = slider.value; changed(Number(slider.value)); });
      number.addEventListener("change", () => { slider.value = number.value; changed(Number(number.value)); });
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

  function syncControls() {
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

  function wireControls() {
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
    $("portrait").addEventListener("mouseleave", () => { hover = null; showReadout(); });
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

  // ------------------------------------------------------------------------------------
  // Requests: the latest answer of each kind wins

  async function get(path, params, signal) {
    const response = await fetch(`${path}?${params.toString()}`, { signal });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
    return body;
  }

  const ENDPOINTS = { field: "/api/field", spectrum: "/api/spectrum",
                      trajectories: "/api/trajectory" };
  let pending = null;
  let pendingKinds = new Set();

  function refreshSoon(...kinds) {
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
  function refresh(...kinds) {
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

  function settingsText() {
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

  function showError(kind, message) {
    errors[kind] = message;
    renderErrors();
  }

  function clearError(kind) {
    delete errors[kind];
    delete errors.page;
    renderErrors();
  }

  function renderErrors() {
    const messages = [...new Set(Object.values(errors))];
    $("error").hidden = messages.length === 0;
    $("error").textContent = messages.join("\n");
  }

  // ------------------------------------------------------------------------------------
  // Drawing helpers

  // A canvas drawn at the width it is shown (its design width, or the page's width where
  // that is narrower: a phone), so that its text keeps its size instead of being scaled
  // down with the picture; a square canvas stays square. `dataset.width` is the drawn
  // width in CSS pixels (clicks and hovers are mapped with it).
  function canvas2d(canvas) {
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

  function round(x) {
    return Number(x.toPrecision(6));
  }

  function fmt(x, digits = 4) {
    if (x === null || x === undefined || !Number.isFinite(x)) return "—";
    if (x === 0) return "0";
    const a = Math.abs(x);
    if (a >= 1e5 || a < 1e-3) return x.toExponential(digits - 1).replace("e+", "e");
    return String(Number(x.toPrecision(digits)));
  }

  function ticks(lo, hi, count = 5) {
    const span = hi - lo;
    if (!(span > 0)) return [lo];
    const raw = span / count;
    const power = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => span / s <= count) || power * 10;
    const out = [];
    for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
      out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
    }
    return out;
  }

  // A plot area [x0, x1] × [y0, y1] drawn in the box (left, top, width, height).
  function frame(box, x0, x1, y0, y1, log = false) {
    const ly = (y) => (log ? Math.log10(y) : y);
    return {
      box, x0, x1, y0, y1, log,
      px: (x) => box.left + ((x - x0) / (x1 - x0)) * box.width,
      py: (y) => box.top + (1 - (ly(y) - ly(y0)) / (ly(y1) - ly(y0))) * box.height,
      x: (px) => x0 + ((px - box.left) / box.width) * (x1 - x0),
      y: (py) => y0 + (1 - (py - box.top) / box.height) * (y1 - y0),
    };
  }

  function axes(ctx, f, xlabel, ylabel) {
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
      ctx.beginPath(); ctx.moveTo(x, box.top + box.height); ctx.lineTo(x, box.top + box.height + 4); ctx.stroke();
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

  function statusColour(status) {
    const s = OPTIONS.statuses.find((x) => x.name === status);
    return s ? s.colour : "#444";
  }

  // Light-to-dark blue for speed, on a log scale between the lattice's extremes.
  // An n × n lattice (row j = 0 at the bottom) drawn smoothed over `box`; `colourAt(k)`
// gives the [r, g, b] of lattice point k = j·n + i.
function drawLattice(ctx, box, n, colourAt) {
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
  ctx.drawImage(image, box.left - cell / 2, box.top - cell / 2, box.width + cell, box.height + cell);
}

function speedColour(t) {
    const a = [252, 253, 255];
    const b = [158, 202, 225];
    return a.map((v, i) => Math.round(v + (b[i] - v) * t));
  }

  // ------------------------------------------------------------------------------------
  // The portrait

  let portraitFrame = null;

  function drawPortrait() {
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
        if (!Number.isFinite(px) || !Number.isFinite(py) || Math.abs(px) > 1e6 || Math.abs(py) > 1e6) {
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
        ctx.moveTo(px, py - 7); ctx.lineTo(px + 7, py); ctx.lineTo(px, py + 7); ctx.lineTo(px - 7, py);
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
    const drawn = (rows.length && shownSettings.trajectories) || shownSettings.field || settingsText();
    $("portrait-caption").textContent = `${drawn} — field coloured by speed ‖v‖ (light: slow, `
      + `up to ${fmt(hi, 3)} at the darkest), ★ the equilibrium; trajectories: one colour each, `
      + "dash by outcome, arrows for the direction";
    drawSpeedBar(ctx, box, hi);
  }

  function regText() {
    return gameInfo().gan && state.regs.length
      ? ` + ${state.regs.map(([n, w]) => `${n}=${w}`).join(" + ")}` : "";
  }

  function arrow(ctx, x0, y0, x1, y1) {
    const angle = Math.atan2(y1 - y0, x1 - x0);
    const head = Math.min(4, Math.hypot(x1 - x0, y1 - y0) * 0.45);
    ctx.beginPath();
    ctx.moveTo(x0, y0); ctx.lineTo(x1, y1);
    ctx.lineTo(x1 - head * Math.cos(angle - 0.45), y1 - head * Math.sin(angle - 0.45));
    ctx.moveTo(x1, y1);
    ctx.lineTo(x1 - head * Math.cos(angle + 0.45), y1 - head * Math.sin(angle + 0.45));
    ctx.stroke();
  }

  function head(ctx, x0, y0, x1, y1, colour) {
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

  function statusDash(status) {
    const s = OPTIONS.statuses.find((x) => x.name === status);
    return s && s.dash ? s.dash : [];
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

  function readout(event) {
    const canvas = $("portrait");
    const rect = canvas.getBoundingClientRect();
    const scale = Number(canvas.dataset.width) / rect.width;
    hover = { x: (event.clientX - rect.left) * scale, y: (event.clientY - rect.top) * scale };
    showReadout();
  }

  function showReadout() {
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

  function star(ctx, x, y, r) {
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

  function portraitPoint(event) {
    if (!portraitFrame) return null;
    const rect = $("portrait").getBoundingClientRect();
    const scale = Number($("portrait").dataset.width) / rect.width;  // a narrow screen shrinks it
    const x = (event.clientX - rect.left) * scale;
    const y = (event.clientY - rect.top) * scale;
    const { box } = portraitFrame;
    if (x < box.left || x > box.left + box.width || y < box.top || y > box.top + box.height) return null;
    return [round(portraitFrame.x(x)), round(portraitFrame.y(y))];
  }

  // ------------------------------------------------------------------------------------
  // The spectrum over the method's stability region

  function drawSpectrum() {
    const { ctx, w, h } = canvas2d($("spectrum"));
    const s = data.spectrum;
    const verdict = $("verdict");
    if (!s || !s.available) {
      ctx.fillStyle = "#666";
      wrap(ctx, s ? s.reason : "computing the spectrum…", 20, 30, w - 40);
      verdict.textContent = !s ? "" : s.failed ? `no result: ${s.failed}` : s.reason;
      verdict.dataset.verdict = "";
      $("spectrum-caption").textContent = "";
      return;
    }
    const box = { left: 62, top: 12, width: w - 78, height: h - 62 };
    const region = s.kind === "region";
    const points = region ? s.scaled : s.multipliers;
    const zoomed = region && s.zoom_extent && $("zoom").checked;
    const extent = zoomed ? s.zoom_extent : region ? s.extent
      : Math.max(1.5, 1.15 * Math.max(...points.map(([a, b]) => Math.hypot(a, b))));
    const lattice = zoomed ? s.zoom_region : s.region;
    $("spectrum").dataset.extent = String(extent);
    $("zoom").parentElement.hidden = !(region && s.zoom_extent);
    const f = frame(box, -extent, extent, -extent, extent);
    ctx.save();
    ctx.beginPath(); ctx.rect(box.left, box.top, box.width, box.height); ctx.clip();
    if (region) {
      drawLattice(ctx, box, s.n, (k) => (lattice[k] === "1" ? [216, 230, 243] : [255, 255, 255]));
      boundary(ctx, f, s.n, extent, lattice);
    } else {
      ctx.fillStyle = "rgb(216, 230, 243)";
      ctx.beginPath();
      ctx.ellipse(f.px(0), f.py(0), f.px(1) - f.px(0), f.py(0) - f.py(1), 0, 0, 2 * Math.PI);
      ctx.fill();
      ctx.strokeStyle = "#0072B2";
      ctx.lineWidth = 1.5;
      ctx.stroke();
    }
    ctx.strokeStyle = "#bbb";
    ctx.beginPath();
    ctx.moveTo(f.px(-extent), f.py(0)); ctx.lineTo(f.px(extent), f.py(0));
    ctx.moveTo(f.px(0), f.py(-extent)); ctx.lineTo(f.px(0), f.py(extent));
    ctx.stroke();
    points.forEach(([a, b], k) => {
      const g = s.growth[k];
      ctx.strokeStyle = g === null || g > 1 + 1e-9 ? "#D55E00" : g < 1 - 1e-9 ? "#0072B2" : "#CC79A7";
      ctx.lineWidth = 2;
      const x = f.px(a);
      const y = f.py(b);
      ctx.beginPath();
      ctx.moveTo(x - 5, y - 5); ctx.lineTo(x + 5, y + 5);
      ctx.moveTo(x - 5, y + 5); ctx.lineTo(x + 5, y - 5);
      ctx.stroke();
    });
    ctx.restore();
    axes(ctx, f, region ? "Re(hλ)" : "Re μ", region ? "Im(hλ)" : "Im μ");
    $("spectrum-caption").textContent = region
      ? `${state.method}: shaded, the stability region |R(z)| < 1 (its boundary drawn); × the `
        + "scaled spectrum hλ of J at the equilibrium (vermillion: outside, blue: inside, purple: "
        + `on the boundary)${zoomed ? ` — zoomed to ±${fmt(extent, 3)}` : ""}`
      : `${state.method}: eigenvalues μ of the step map at the equilibrium (×) and the unit `
        + "disc |μ| < 1 (shaded)";
    const largest = s.unconditionally_stable ? "any h (unconditionally stable)"
      : s.largest_stable_step ? fmt(s.largest_stable_step, 6) : "none (unstable at every h)";
    const eig = s.eigenvalues.map(([a, b]) => complexText(a, b)).join(", ");
    verdict.dataset.verdict = s.verdict;
    verdict.replaceChildren();
    const line = (label, text, cls) => {
      const p = document.createElement("p");
      const strong = document.createElement("strong");
      strong.textContent = label;
      p.append(strong, ` ${text}`);
      if (cls) p.className = cls;
      verdict.append(p);
    };
    if (errors.spectrum) {
      // The settings asked for were refused (a typed h ≤ 0, say): the results below are
      // the previous settings', greyed and labelled with their own h.
      line("not computed for h = " + fmt(state.step, 6) + ":",
           `${errors.spectrum} — shown greyed: the results for h = ${fmt(s.step, 6)}`, "refused");
    }
    const g = s.growth_per_step;
    line("linearisation at the equilibrium, h = " + fmt(s.step, 6) + ":",
         `${s.verdict} — growth per step ${growthText(g, 8, ROUNDING)}${halfLife(g, s.step)}`,
         `verdict-${s.verdict}`);
    const outcome = nonlinearOutcome();
    const p = document.createElement("p");
    p.id = "nonlinear";
    const strong = document.createElement("strong");
    strong.textContent = "trajectories (the nonlinear game):";
    p.append(strong, ` ${outcome}`);
    verdict.append(p);
    line("largest stable step:", largest);
    line("eigenvalues of J:", eig);
    const note = document.createElement("p");
    note.className = "note";
    note.textContent = "The verdict is the linear analysis at the equilibrium (|growth| of the "
      + "step map's modes there); trajectories started far from it follow the nonlinear field "
      + "and may settle elsewhere, e.g. on a limit cycle.";
    verdict.append(note);
  }

  // Growth per step to enough digits to tell it from 1: 1 − 7.0e−9, not "1".
  function growthText(g, digits = 8, rounding = 0) {
    if (g === null || !Number.isFinite(g)) return "—";
    const d = g - 1;
    if (d === 0) return "1";
    if (Math.abs(d) < rounding) return "1 (to rounding)";
    if (Math.abs(d) < 1e-4) return `1 ${d < 0 ? "−" : "+"} ${Math.abs(d).toExponential(2)}`;
    return String(Number(g.toPrecision(digits)));
  }

  // |growth − 1| below ROUNDING (64 ulps of a float64 near 1: the growth is computed in
  // float64 from the eigenvalues) is rounding of a modulus-1 multiplier, not a rate.
  const ROUNDING = 64 * Number.EPSILON;

  function halfLife(g, h, rounding = ROUNDING) {
    if (g === null || !Number.isFinite(g) || g <= 0 || Math.abs(g - 1) < rounding) return "";
    const steps = Math.log(2) / Math.abs(Math.log(g));
    const what = g < 1 ? "half-life" : "doubling time";
    return ` (${what} ${fmt(steps, 3)} steps = ${fmt(steps * h, 3)} time units)`;
  }

  function nonlinearOutcome() {
    const rows = data.trajectories && !data.trajectories.failed ? data.trajectories.trajectories : [];
    if (!rows.length) return "none yet: click the plane to start one";
    const counts = {};
    for (const row of rows) counts[row.status] = (counts[row.status] || 0) + 1;
    return Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(", ");
  }

  // The region's boundary |R(z)| = 1, by marching squares on the lattice (each cell's
  // crossing edges joined at their midpoints), so the edge is a line, not pixels.
  function boundary(ctx, f, n, extent, lattice) {
    const at = (i, j) => lattice[j * n + i] === "1";
    const coord = (i) => -extent + (2 * extent * i) / (n - 1);
    ctx.save();
    ctx.strokeStyle = "#0072B2";
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    for (let j = 0; j < n - 1; j++) {
      for (let i = 0; i < n - 1; i++) {
        const c = [at(i, j), at(i + 1, j), at(i + 1, j + 1), at(i, j + 1)];
        if (c.every((v) => v === c[0])) continue;
        const mids = [];
        const edges = [[0, 1, (i + 0.5), j], [1, 2, i + 1, j + 0.5], [2, 3, i + 0.5, j + 1],
                       [3, 0, i, j + 0.5]];
        for (const [p, q, x, y] of edges) if (c[p] !== c[q]) mids.push([x, y]);
        for (let m = 0; m + 1 < mids.length; m += 2) {
          ctx.moveTo(f.px(coord(mids[m][0])), f.py(coord(mids[m][1])));
          ctx.lineTo(f.px(coord(mids[m + 1][0])), f.py(coord(mids[m + 1][1])));
        }
      }
    }
    ctx.stroke();
    ctx.restore();
  }

  function complexText(a, b) {
    const re = Math.abs(a) < 1e-12 ? 0 : a;
    const im = Math.abs(b) < 1e-12 ? 0 : b;
    const real = (x) => (x < 0 ? `−${fmt(-x)}` : fmt(x));
    if (im === 0) return real(re);
    const sign = im < 0 ? "−" : "+";
    return re === 0 ? `${im < 0 ? "−" : ""}${fmt(Math.abs(im))}i` : `${real(re)} ${sign} ${fmt(Math.abs(im))}i`;
  }

  function wrap(ctx, text, x, y, width) {
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

  // ------------------------------------------------------------------------------------
  // Time series and the table of trajectories

  function drawSeries() {
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

  function drawTable() {
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
  function drawLegend() {
    const rows = data.trajectories && !data.trajectories.failed ? data.trajectories.trajectories : [];
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

  // ------------------------------------------------------------------------------------
  // The data space of the 1-D Dirac-GAN, with playback over trajectory 1's saved steps

  // `phase` 1: between saved steps `index` and `index + 1`, after the first mover's
  // move only (a method whose players move in turns: the server's `turns`).
  const playback = { index: 0, phase: 0, timer: null };

  // Trajectory 1's (θ, ψ) at the shown frame, and what that frame is.
  function shownState() {
    const row = data.trajectories.trajectories[0];
    const steps = data.trajectories.steps;
    const [thetas, psis] = row.path;
    const i = playback.index;
    if (!playback.phase || !data.trajectories.turns) {
      return { theta: thetas[i], psi: psis[i], label: `step ${steps[i]}`, mover: "" };
    }
    const [[first, count], [second, others]] = data.trajectories.turns;
    const generatorFirst = first === "generator";
    const moves = (player, k) => `${player === "generator" ? "the generator" : "the discriminator"}`
      + `${k > 1 ? `'s ${k} steps` : "'s step"}`;
    return {
      theta: generatorFirst ? thetas[i + 1] : thetas[i],
      psi: generatorFirst ? psis[i] : psis[i + 1],
      label: `step ${steps[i]} + ${moves(first, count)} (${moves(second, others)} next)`,
      mover: first,
    };
  }

  // Whether the frame after the shown one can be split into the players' moves: the
  // method moves them in turns and the run saved every step there.
  function canSplit() {
    const t = data.trajectories;
    const i = playback.index;
    return Boolean(t && t.turns) && i + 1 <= Number($("time").max)
      && t.steps[i + 1] - t.steps[i] === 1;
  }

  function dataSpaceShown() {
    const rows = data.trajectories && !data.trajectories.failed ? data.trajectories.trajectories : [];
    return rows.length > 0 && (gaussianShown() || (state.game === "dirac"
      && Number(state.options.dim || 1) === 1 && !state.options.bias
      && (state.options.critic || "linear") === "linear"));
  }

  function gaussianShown() {
    const t = data.trajectories;
    return state.game === "gaussian" && Boolean(t && !t.failed && t.first
                                                && t.first.values.length >= 4);
  }

  // Trajectory 1's parameters at the shown frame, by name (mid-step: the first mover's
  // from the next save, the other's from this one).
  function shownParameters() {
    const { names, generator, values } = data.trajectories.first;
    const i = playback.index;
    const turns = data.trajectories.turns;
    const generatorFirst = turns && turns[0][0] === "generator";
    return Object.fromEntries(names.map((name, k) => {
      const moved = playback.phase && turns && generator !== null
        && (k < generator) === generatorFirst;
      return [name, values[k][moved ? i + 1 : i]];
    }));
  }

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
    ctx.beginPath(); ctx.moveTo(box.left, f.py(0)); ctx.lineTo(box.left + box.width, f.py(0)); ctx.stroke();
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
    if (finite && spread > 0) curve((x) => density(x, mu, sigma), "#E69F00", "rgba(230, 159, 0, 0.25)");
    else if (finite) {  // σ = 0: a point mass at μ
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
    const keyWidth = Math.min(box.width - 4, 30 + Math.max(...key.map(([, t]) => ctx.measureText(t).width)));
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

  function drawDataSpace() {
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
      : `one player's move: ${turns.map(([p, k]) => `${p}${k > 1 ? ` ×${k}` : ""}`).join(", then ")}`;
    if (gaussianShown()) { drawGaussianSpace(label, mover); return; }
    const { ctx, w, h } = canvas2d($("data-space"));
    const box = { left: 62, top: 10, width: w - 78, height: h - 52 };
    const half = Math.max(2, 1.2 * Math.max(Math.abs(theta - c), 1));
    const f = frame(box, c - half, c + half, -2.5, 2.5);
    ctx.save();
    ctx.beginPath(); ctx.rect(box.left, box.top, box.width, box.height); ctx.clip();
    ctx.strokeStyle = "#bbb";
    ctx.beginPath(); ctx.moveTo(box.left, f.py(0)); ctx.lineTo(box.left + box.width, f.py(0)); ctx.stroke();
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

  function stopPlayback() {
    clearInterval(playback.timer);
    playback.timer = null;
    $("play").textContent = "▶ play";
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

  function wirePlayback() {
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

  // File names that say what they hold: gandyn-dirac-wgan-r1=0.3-rk4-h0.1-…, with the
  // game's and the method's options given and the plane (θ, ψ spelled out).
  function exportName() {
    const parts = ["gandyn", state.game,
                   ...given(gameInfo().options, state.options).map(([n, v]) => `${n}=${v}`),
                   gameInfo().gan ? state.loss : "",
                   ...(gameInfo().gan ? state.regs.map(([n, w]) => `${n}=${w}`) : []),
                   state.method, ...given(methodOptionList(), state.methodOptions).map(([n, v]) => `${n}=${v}`),
                   `h${state.step}`, `${state.steps}steps`, state.plane ? `plane=${state.plane}` : ""];
    const GREEK = { θ: "theta", ψ: "psi", μ: "mu", σ: "sigma", ",": "+" };
    return parts.filter(Boolean).join("-").replace(/[θψμσ,]/g, (c) => GREEK[c])
      .replace(/[^A-Za-z0-9=.+_-]/g, "_");
  }

  // ------------------------------------------------------------------------------------
  // Export: the current view as one PNG

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
    const width = Math.max(top.reduce((s, c) => s + c.width, 0), bottom.reduce((s, c) => s + c.width, 0));
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
    const rows = data.trajectories && !data.trajectories.failed ? data.trajectories.trajectories : [];
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

  function exportPng() {
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

  // ------------------------------------------------------------------------------------

  async function start() {
    try {
      OPTIONS = await get("/api/options", new URLSearchParams());
    } catch (error) {
      showError("page", `cannot reach the gandyn server: ${error.message}`);
      return;
    }
    fromLocation();
    wireControls();
    wirePlayback();
    syncControls();
    drawLegend();
    redraw();
    refresh("field", "spectrum", "trajectories");
  }

  start();
})();
