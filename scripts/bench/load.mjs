// Latency and throughput at a given concurrency: timed rounds that alternate between the clients
// (bare, package, jsforce, bare, …) so that none gains from running later or on a quieter machine.
import { performance } from 'node:perf_hooks';
import { CLIENT_NAMES } from './clients.mjs';
import { median, percentile } from './stats.mjs';

/** `concurrency` loops calling `call` until `seconds` have passed; each call's latency in µs. */
async function timedRound(call, concurrency, seconds) {
  const latencies = [];
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < until) {
      const t = performance.now();
      await call();
      latencies.push((performance.now() - t) * 1000);
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  return { latencies, throughput: latencies.length / elapsed };
}

/**
 * Per client: median and p99 latency (µs, over every call of every round), the median round's
 * throughput (calls/s), and the median over rounds of its throughput / bare's in the same round.
 */
export async function measureLoad(clients, { concurrency, rounds, seconds, warmupSeconds, betweenRounds = () => {} }) {
  for (const name of CLIENT_NAMES) await timedRound(clients[name], concurrency, warmupSeconds);
  const perClient = Object.fromEntries(CLIENT_NAMES.map((name) => [name, { latencies: [], throughputs: [] }]));
  for (let round = 0; round < rounds; round++) {
    for (const name of CLIENT_NAMES) {
      betweenRounds();
      const { latencies, throughput } = await timedRound(clients[name], concurrency, seconds);
      for (const l of latencies) perClient[name].latencies.push(l);
      perClient[name].throughputs.push(throughput);
    }
  }
  const bare = perClient.bare.throughputs;
  return Object.fromEntries(CLIENT_NAMES.map((name) => {
    const { latencies, throughputs } = perClient[name];
    return [name, {
      calls: latencies.length,
      medianUs: median(latencies),
      p99Us: percentile(latencies, 99),
      throughput: median(throughputs),
      ratioToBare: median(throughputs.map((t, i) => t / bare[i])),
    }];
  }));
}
