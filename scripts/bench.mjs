// Measures the packed package side by side with a bare fetch and jsforce on the project's emulator,
// and prints one table, then one JSON line {"bench": …} with every figure. Figures only: nothing
// here asserts (the tests assert behaviour). Runs from .scratch/consumer/ (scripts/bench.sh).
//   node --expose-gc bench.mjs          all figures (about 1.5 minutes on 2 cores)
//   BENCH_QUICK=1 node --expose-gc …    shorter rounds, fewer runs
import { performance } from 'node:perf_hooks';
import { allClients, CLIENT_LABELS, CLIENT_NAMES } from './bench/clients.mjs';
import { childProcessEmulator, inProcessEmulator, LIMITS_PATH } from './bench/emulators.mjs';
import { measureLoad } from './bench/load.mjs';
import { HERD_CALLS, measureHerd } from './bench/herd.mjs';
import { FLEET_CALLS, FLEET_SIZE, FLEET_TOKEN_DELAY_MS, measureFleet } from './bench/fleet.mjs';
import { measureNodeColdStart, measureWorkerdColdStartFresh } from './bench/cold-start.mjs';
import { measureMemory } from './bench/memory.mjs';
import { measureCpu } from './bench/cpu.mjs';
import { measureSizes } from './bench/sizes.mjs';
import { fmt, median, progress, rounded } from './bench/stats.mjs';
import { Table } from './bench/table.mjs';

const QUICK = process.env.BENCH_QUICK === '1';
const SETTINGS = {
  concurrencies: [1, 16, 64],
  load: QUICK ? { rounds: 3, seconds: 0.2, warmupSeconds: 0.1 } : { rounds: 7, seconds: 0.5, warmupSeconds: 0.25 },
  herdRounds: QUICK ? 1 : 3,
  fleetExpiries: QUICK ? 2 : 5,
  coldStartRuns: QUICK ? 3 : 5,
  workerdRuns: QUICK ? 2 : 5,
  workerdBudgetMs: 20_000,
  memoryConnections: 10_000,
  cpu: QUICK ? { batches: 15, callsPerBatch: 500 } : { batches: 41, callsPerBatch: 1000 },
};

const began = performance.now();
const figures = { settings: SETTINGS, node: process.version, call: `GET ${LIMITS_PATH}` };

async function loadFigures(startEmulatorSomewhere) {
  const target = await startEmulatorSomewhere();
  progress(`load, emulator ${target.where}${target.pid ? ` (pid ${target.pid})` : ''}`);
  try {
    const clients = await allClients(target);
    const out = {};
    for (const concurrency of SETTINGS.concurrencies) {
      out[`c${concurrency}`] = await measureLoad(clients, { concurrency, ...SETTINGS.load, betweenRounds: target.clearLog });
    }
    return out;
  } finally {
    await target.close();
  }
}

figures.load = { inProcess: await loadFigures(inProcessEmulator), ownProcess: await loadFigures(childProcessEmulator) };
progress('herd');
figures.herd = await measureHerd(SETTINGS.herdRounds);
progress(`fleet (${FLEET_SIZE} processes over Redis)`);
try {
  figures.fleet = await measureFleet(SETTINGS.fleetExpiries);
} catch (err) {
  figures.fleet = { skipped: `failed: ${err.message.split('\n')[0]}` };
}
progress('cold start (Node)');
figures.coldStartNode = await measureNodeColdStart(SETTINGS.coldStartRuns);
progress('cold start (workerd)');
try {
  figures.coldStartWorkerd = await measureWorkerdColdStartFresh(SETTINGS.workerdRuns, SETTINGS.workerdBudgetMs);
} catch (err) {
  figures.coldStartWorkerd = { skipped: `failed: ${err.message.split('\n')[0]}` };
}
progress('memory');
figures.memory = measureMemory(SETTINGS.memoryConnections);
progress('library CPU per call');
figures.cpu = await measureCpu(SETTINGS.cpu);
figures.sizes = measureSizes();
figures.seconds = (performance.now() - began) / 1000;

// ---- the table ----
const table = new Table(CLIENT_NAMES.map((n) => CLIENT_LABELS[n]));
const L = SETTINGS.load;
for (const [key, title] of [['inProcess', 'emulator in the same process'], ['ownProcess', 'emulator in its own process']]) {
  table.section(`${title}: ${figures.call}, ${L.rounds} alternating rounds of ${L.seconds} s per client (after ${L.warmupSeconds} s warm-up)`);
  for (const [c, byClient] of Object.entries(figures.load[key])) {
    const cells = (pick) => CLIENT_NAMES.map((n) => pick(byClient[n], n));
    const n = c.slice(1);
    table.row(`c=${n} median latency (µs)`, ...cells((f) => fmt(f.medianUs, 0)));
    table.row(`c=${n} median − bare (µs)`, ...cells((f, name) => (name === 'bare' ? '' : fmt(f.medianUs - byClient.bare.medianUs, 0))));
    table.row(`c=${n} p99 latency (µs)`, ...cells((f) => fmt(f.p99Us, 0)));
    table.row(`c=${n} throughput (calls/s)`, ...cells((f) => fmt(f.throughput, 0)));
    table.row(`c=${n} throughput ÷ bare (median of rounds)`, ...cells((f, name) => (name === 'bare' ? '1' : fmt(f.ratioToBare, 3))));
  }
}

table.section(`herd: ${HERD_CALLS} concurrent calls on an expired session, fresh in-process emulator, ${SETTINGS.herdRounds} round(s); max or median over rounds`);
const herd = (name, pick, digits, how = 'max') => {
  const values = figures.herd[name].map(pick);
  return fmt(how === 'max' ? Math.max(...values) : median(values), digits);
};
table.row('token requests (max)', '', herd('package', (h) => h.tokenRequests, 0), herd('jsforce', (h) => h.tokenRequests, 0));
table.row('401s seen by the emulator (max)', '', herd('package', (h) => h.unauthorized, 0), herd('jsforce', (h) => h.unauthorized, 0));
table.row('failed calls (max)', '', herd('package', (h) => h.failed, 0), herd('jsforce', (h) => h.failed, 0));
table.row('wall time (ms, median)', '', herd('package', (h) => h.wallMs, 0, 'median'), herd('jsforce', (h) => h.wallMs, 0, 'median'));

table.section(`fleet: ${FLEET_SIZE} processes (node-redis and ioredis) sharing one connection through Redis, rotating refresh tokens, token endpoint ${FLEET_TOKEN_DELAY_MS} ms; ${FLEET_CALLS} concurrent calls per process per expiry, ${SETTINGS.fleetExpiries} expiries each way`);
if (figures.fleet.skipped) {
  table.row(`skipped: ${figures.fleet.skipped}`);
} else {
  for (const [way, title] of [['clock', 'expiry by clock'], ['kill', 'expiry by server-side kill']]) {
    const f = figures.fleet[way];
    table.row(`${title}: token requests per expiry (max)`, '', fmt(f.tokenRequestsMax, 0), '');
    table.row(`${title}: failed calls (of ${FLEET_SIZE * FLEET_CALLS * SETTINGS.fleetExpiries})`, '', fmt(f.failedTotal, 0), '');
    table.row(`${title}: p50 call latency across the refresh (ms)`, '', fmt(f.p50Ms), '');
    table.row(`${title}: p99 call latency across the refresh (ms)`, '', fmt(f.p99Ms), '');
    table.row(`${title}: rotated-out tokens presented / families revoked`, '', `${f.rotatedOutPresented} / ${f.familiesRevoked}`, '');
  }
}

const cs = figures.coldStartNode;
table.section(`cold start in Node: a fresh process, first line to first response read; median of ${SETTINGS.coldStartRuns}, alternating`);
table.row('first call (ms)', fmt(cs.bare.total), fmt(cs.package.total), fmt(cs.jsforce.total));
table.row('  of which import (ms)', '', fmt(cs.package.import), fmt(cs.jsforce.import));
table.row('  of which connect (ms)', '', fmt(cs.package.connect), '');
table.row('  of which the call (ms)', fmt(cs.bare.total), fmt(cs.package.firstCall), fmt(cs.jsforce.firstCall));
table.row('minus bare first fetch (ms)', '', fmt(cs.packageMinusBareMs), fmt(cs.jsforceMinusBareMs));
table.row('bare first fetch after importing an empty package (ms)', fmt(cs.emptyPackage.total), '', '');
table.row('  of which the empty import (ms)', fmt(cs.emptyPackage.import), '', '');
table.row('minus that (ms)', '', fmt(cs.packageMinusEmptyPackageMs), fmt(cs.jsforceMinusEmptyPackageMs));
table.row('since process start (ms)', fmt(cs.bare.sinceStart), fmt(cs.package.sinceStart), fmt(cs.jsforce.sinceStart));

const cw = figures.coldStartWorkerd;
table.section(`cold start in workerd (Miniflare): new Miniflare to first response, in a process of its own; median of ${SETTINGS.workerdRuns}`);
if (cw.skipped) {
  table.row(`skipped: ${cw.skipped}`);
} else {
  table.row('Miniflare ready (ms, compiles the wasm)', fmt(cw.bare.readyMs), fmt(cw.package.readyMs), 'n/a');
  table.row('first call after ready (ms)', fmt(cw.bare.firstCallMs), fmt(cw.package.firstCallMs), 'n/a');
  table.row('total (ms)', fmt(cw.bare.totalMs), fmt(cw.package.totalMs), 'n/a');
  table.row('minus bare (ms)', '', fmt(cw.packageMinusBareMs), '');
}

const mem = figures.memory;
table.section(`memory: ${SETTINGS.memoryConnections} connections in one instance, fresh process each, after gc (MiB)`);
table.row('JS heap', '', fmt(mem.package.heapMiB, 2), fmt(mem.jsforce.heapMiB, 2));
table.row('external (wasm memory counts here)', '', fmt(mem.package.externalMiB, 2), fmt(mem.jsforce.externalMiB, 2));
table.row('  of which arrayBuffers', '', fmt(mem.package.arrayBuffersMiB, 2), fmt(mem.jsforce.arrayBuffersMiB, 2));
table.row('heap + external', '', fmt(mem.package.totalMiB, 2), fmt(mem.jsforce.totalMiB, 2));
table.row('per connection (bytes)', '', fmt(mem.package.bytesPerConnection, 0), fmt(mem.jsforce.bytesPerConnection, 0));
table.row("  of which the MemoryStore's text (bytes)", '', fmt(mem.package.storeTextBytesPerConnection, 0), '');
table.row('per connection after one read each (bytes)', '', fmt(mem['package-read'].bytesPerConnection, 0), '');

const cpu = figures.cpu;
table.section(`library CPU per call: a fetch answering one prebuilt Response; median of ${SETTINGS.cpu.batches} batches of ${SETTINGS.cpu.callsPerBatch} sequential calls`);
table.row('per call (µs)', fmt(cpu.bareUs, 2), fmt(cpu.packageUs, 2), 'n/a (no fetch option)');
table.row('minus bare (µs)', '', fmt(cpu.overheadUs, 2), '');

const sz = figures.sizes;
table.section('sizes (bytes)');
table.row('.wasm raw', '', sz.wasmRawBytes, '');
table.row('.wasm gzip -9 (node zlib)', '', sz.wasmGzipBytes, '');
table.row('.wasm gzip -9 (gzip program, as the size budget)', '', sz.wasmGzipCliBytes ?? 'n/a', '');
table.row(`packed tarball${sz.tarball ? ` (${sz.tarball.name})` : ''}`, '', sz.tarball?.bytes ?? 'not found', '');

console.log(`salesforce-session bench: ${figures.call}, Node ${process.version}; figures only, nothing asserted; ${fmt(figures.seconds, 0)} s\n`);
console.log(table.render());
console.log(JSON.stringify({ bench: rounded(figures) }));
