// The error banner: one message per kind of request (and the page's own), shown together.

import { $ } from "./dom.js";

export const errors = {};

export function showError(kind, message) {
  errors[kind] = message;
  renderErrors();
}

export function clearError(kind) {
  delete errors[kind];
  delete errors.page;
  renderErrors();
}

function renderErrors() {
  const messages = [...new Set(Object.values(errors))];
  $("error").hidden = messages.length === 0;
  $("error").textContent = messages.join("\n");
}
