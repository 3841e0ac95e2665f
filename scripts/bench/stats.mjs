// Order statistics and number formatting shared by the bench sections.

export function median(values) {
  return percentile(values, 50);
}

/** The nearest-rank percentile (p in 0..100) of a non-empty list. */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** A number for the table; null/NaN print as a dash. */
export function fmt(value, digits = 1) {
  if (value === null || value === undefined || Number.isNaN(value)) return '-';
  return Number(value).toFixed(digits);
}

/** Rounds every number in a figure tree, so the JSON line stays readable. */
export function rounded(value, digits = 3) {
  if (typeof value === 'number') return Number.isFinite(value) ? Number(value.toFixed(digits)) : null;
  if (Array.isArray(value)) return value.map((v) => rounded(v, digits));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rounded(v, digits)]));
  return value;
}

/** Progress for the person watching; stdout carries only the table and the JSON line. */
export function progress(message) {
  process.stderr.write(`bench: ${message}\n`);
}
