// Numbers as the page writes them: rounded starts, short values, growth rates (told from
// 1), half-lives and complex eigenvalues.

export function round(x) {
  return Number(x.toPrecision(6));
}

export function fmt(x, digits = 4) {
  if (x === null || x === undefined || !Number.isFinite(x)) return "—";
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1e5 || a < 1e-3) return x.toExponential(digits - 1).replace("e+", "e");
  return String(Number(x.toPrecision(digits)));
}

// Growth per step to enough digits to tell it from 1: 1 − 7.0e−9, not "1".
export function growthText(g, digits = 8, rounding = 0) {
  if (g === null || !Number.isFinite(g)) return "—";
  const d = g - 1;
  if (d === 0) return "1";
  if (Math.abs(d) < rounding) return "1 (to rounding)";
  if (Math.abs(d) < 1e-4) return `1 ${d < 0 ? "−" : "+"} ${Math.abs(d).toExponential(2)}`;
  return String(Number(g.toPrecision(digits)));
}

// |growth − 1| below ROUNDING (64 ulps of a float64 near 1: the growth is computed in
// float64 from the eigenvalues) is rounding of a modulus-1 multiplier, not a rate.
export const ROUNDING = 64 * Number.EPSILON;

export function halfLife(g, h, rounding = ROUNDING) {
  if (g === null || !Number.isFinite(g) || g <= 0 || Math.abs(g - 1) < rounding) return "";
  const steps = Math.log(2) / Math.abs(Math.log(g));
  const what = g < 1 ? "half-life" : "doubling time";
  return ` (${what} ${fmt(steps, 3)} steps = ${fmt(steps * h, 3)} time units)`;
}

export function complexText(a, b) {
  const re = Math.abs(a) < 1e-12 ? 0 : a;
  const im = Math.abs(b) < 1e-12 ? 0 : b;
  const real = (x) => (x < 0 ? `−${fmt(-x)}` : fmt(x));
  if (im === 0) return real(re);
  const sign = im < 0 ? "−" : "+";
  return re === 0 ? `${im < 0 ? "−" : ""}${fmt(Math.abs(im))}i`
    : `${real(re)} ${sign} ${fmt(Math.abs(im))}i`;
}
