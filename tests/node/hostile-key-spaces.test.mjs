// Connection ids that look like other keys ('X:instance:w1', 'X%3A', 'tok:X', …) share one
// store without touching each other: each keeps its own token, and disconnecting some leaves the
// others working with their records intact.
// Run from the scratch consumer: node --test tests/node/hostile-key-spaces.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { API, startEmu, makeManager, TestStore } from './helpers.mjs';
import { seedFrom, xorshift } from './hostile-random.mjs';

const SEED = seedFrom(0x5eed0004);
const LIMITS = `${API}/limits`;
const INSTANCE_ID = 'w1';

const HAND_PICKED = [
  'X', 'X:instance:w1', 'X:instance:w1:x', 'X%3A', 'X%3Ainstance%3Aw1', 'X:', 'X%', 'X%25', 'X%253A', 'X:local', 'X::', 'tok:X', 'tok:X:w1',
  'conn:X', 'org:X:read_only', ':', '%3A', '%', ' X', 'X ', 'x', 'X/../Y', 'X*', 'X?', 'X[ab]', 'é', '😀',
];

/** Generated ids over the characters key schemes are made of. */
function generatedIds(seed, count) {
  const rng = xorshift(seed);
  const ids = new Set();
  while (ids.size < count) ids.add(rng.text(1 + rng.int(12), ['X', ':', '%', '3', 'A', '2', '5', 'i', 'n', 's', 't', 'w', '1', 'o', 'k', 'c']));
  return [...ids];
}

/** The emulator's token behind the last REST request. */
const lastToken = (emu) => emu.log.filter((e) => e.host === 'instance').at(-1)?.token;

test('ids that look like other keys share one store: each its own token, and disconnecting some leaves the rest working and stored', async (t) => {
  const emu = await startEmu(t);
  emu.policy.maxTokenPairs = 1000; // one user holds every connection here
  const store = new TestStore();
  const { sm } = makeManager(emu, { store, instanceId: INSTANCE_ID });
  const ids = [...new Set([...HAND_PICKED, ...generatedIds(SEED, 60)])];
  const tokenOf = new Map();
  for (const id of ids) {
    const tokens = await emu.mintTokenResponse();
    tokenOf.set(id, tokens.access_token);
    await sm.connect(id, tokens);
  }
  const mixups = [];
  const checkAll = async (manager, live, label) => {
    for (const id of live) {
      const res = await manager.fetch(id, LIMITS);
      await res.arrayBuffer();
      if (res.status !== 200 || lastToken(emu) !== tokenOf.get(id)) mixups.push(`${label}: ${JSON.stringify(id)} got ${res.status} with ${lastToken(emu) === tokenOf.get(id) ? 'its own' : 'another'} token`);
    }
  };
  await checkAll(sm, ids, 'after connect');
  // A second manager has no in-memory copy: it reads each id's record from the store.
  const reader = makeManager(emu, { store, instanceId: 'w2' }).sm;
  await checkAll(reader, ids, 'read back from the store');
  assert.deepEqual(mixups, [], `seed ${SEED}`);

  const rng = xorshift(SEED ^ 0xabcdef);
  const gone = ids.filter((id, i) => i % 3 === 0 || (id.startsWith('X') && rng.chance(0.3)));
  const kept = ids.filter((id) => !gone.includes(id));
  const recordsBefore = new Map(kept.map((id) => [id, JSON.stringify(store.snapshot().filter(([, v]) => v.includes(tokenOf.get(id))))]));
  for (const id of gone) await sm.disconnect(id);

  for (const id of gone) {
    await assert.rejects(reader.info(id).then(() => sm.info(id)), (e) => e.code === 'UNKNOWN_CONNECTION', `${JSON.stringify(id)} is gone`);
  }
  const lost = kept.filter((id) => {
    const now = JSON.stringify(store.snapshot().filter(([, v]) => v.includes(tokenOf.get(id))));
    return now === '[]' || now !== recordsBefore.get(id);
  });
  assert.deepEqual(lost, [], `records of kept ids changed or vanished when others were disconnected (seed ${SEED})`);
  const fresh = makeManager(emu, { store, instanceId: 'w3' }).sm;
  await checkAll(fresh, kept, 'after disconnecting others');
  await checkAll(sm, kept, 'same manager, after disconnecting others');
  assert.deepEqual(mixups, [], `seed ${SEED}`);
  console.log(`key spaces (seed ${SEED}): ${ids.length} ids, ${gone.length} disconnected, ${kept.length} kept working`);
});
