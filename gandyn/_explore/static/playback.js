// Playback over trajectory 1's saved steps: the frame shown (a saved step, or one player's
// move within it), and whether the game has a data space to show.

import { $ } from "./dom.js";
import { data, state } from "./state.js";

// `phase` 1: between saved steps `index` and `index + 1`, after the first mover's
// move only (a method whose players move in turns: the server's `turns`).
export const playback = { index: 0, phase: 0, timer: null };

// Trajectory 1's (θ, ψ) at the shown frame, and what that frame is.
export function shownState() {
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
export function canSplit() {
  const t = data.trajectories;
  const i = playback.index;
  return Boolean(t && t.turns) && i + 1 <= Number($("time").max)
    && t.steps[i + 1] - t.steps[i] === 1;
}

export function dataSpaceShown() {
  const rows = data.trajectories && !data.trajectories.failed
    ? data.trajectories.trajectories : [];
  return rows.length > 0 && (gaussianShown() || (state.game === "dirac"
    && Number(state.options.dim || 1) === 1 && !state.options.bias
    && (state.options.critic || "linear") === "linear"));
}

export function gaussianShown() {
  const t = data.trajectories;
  return state.game === "gaussian" && Boolean(t && !t.failed && t.first
                                              && t.first.values.length >= 4);
}

// Trajectory 1's parameters at the shown frame, by name (mid-step: the first mover's
// from the next save, the other's from this one).
export function shownParameters() {
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

export function stopPlayback() {
  clearInterval(playback.timer);
  playback.timer = null;
  $("play").textContent = "▶ play";
}
