// Seeded generators for the hostile-input suites: a xorshift32 PRNG whose seed is printed with
// every failure (SEED=n reruns one), and small combinators to build inputs from parts.
import assert from 'node:assert/strict';

/** xorshift32: small, fast, reproducible. */
export function xorshift(seed) {
  let x = seed >>> 0 || 0x9e3779b9;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  const rng = {
    seed,
    /** An integer in [0, n). */
    int: (n) => next() % n,
    /** True with probability p. */
    chance: (p) => next() / 0x100000000 < p,
    /** One element of a list. */
    pick: (list) => list[next() % list.length],
    /** A string of `length` characters drawn from `alphabet`. */
    text: (length, alphabet) => Array.from({ length }, () => alphabet[next() % alphabet.length]).join(''),
  };
  return rng;
}

/** The seed of this run: SEED from the environment, else a fixed one. */
export function seedFrom(fallback) {
  const given = process.env.SEED;
  return given === undefined ? fallback : Number(given) >>> 0;
}

/**
 * Runs `check(rng, index)` for `cases` cases; a failure names the seed and the case so that
 * `SEED=<seed>` reproduces the run. Returns the number of cases run.
 */
export async function forAll(seed, cases, check) {
  const rng = xorshift(seed);
  for (let index = 0; index < cases; index += 1) {
    try {
      await check(rng, index);
    } catch (err) {
      if (err instanceof assert.AssertionError) {
        err.message = `[seed ${seed}, case ${index}] ${err.message}`;
      }
      console.log(`failing seed: ${seed} (case ${index}); rerun with SEED=${seed}`);
      throw err;
    }
  }
  return cases;
}

/**
 * Like forAll, but keeps going: every failing case is collected (message with seed and case
 * index), and one assertion at the end lists the first `shown` of them with their total.
 */
export async function forAllCollect(seed, cases, check, shown = 25) {
  const rng = xorshift(seed);
  const failures = [];
  for (let index = 0; index < cases; index += 1) {
    try {
      await check(rng, index);
    } catch (err) {
      if (!(err instanceof assert.AssertionError)) throw err;
      failures.push(`case ${index}: ${err.message.split('\n')[0]}`);
    }
  }
  if (failures.length) console.log(`failing seed: ${seed}; rerun with SEED=${seed}`);
  assert.equal(failures.length, 0, `[seed ${seed}] ${failures.length} of ${cases} cases failed:\n${failures.slice(0, shown).join('\n')}`);
  return cases;
}

/** How long a promise takes to settle, and how: { ok, value | error, ms }; `bound` ms at most (then { pending: true }). */
export async function settleWithin(promise, bound) {
  const started = performance.now();
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve({ pending: true, ms: performance.now() - started }), bound);
  });
  const settled = Promise.resolve(promise).then(
    (value) => ({ ok: true, value, ms: performance.now() - started }),
    (error) => ({ ok: false, error, ms: performance.now() - started }),
  );
  try {
    return await Promise.race([settled, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
