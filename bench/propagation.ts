/**
 * How long a delete through one server takes to reach another server sharing the key store
 * (docs/scale-out.md, "Consistency"): two `kes server --workers 2` on a real etcd and on a real
 * PostgreSQL, caches kept 5 minutes. Each round creates a key through server A, has both
 * workers of server B cache it, deletes it through A, then asks B (each request on a new
 * connection, so alternating workers) until two answers in a row are 404. The delay is measured
 * from A's answer to the delete.
 *
 *   node --import tsx bench/propagation.ts [--rounds 40] [--stores etcd,postgres]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { startClusterServer, type ClusterServer } from '../test/helpers/cluster-server.js';
import { isEtcdInstalled, startEtcd } from '../test/helpers/etcd.js';
import { postgresBinDir, startPostgres } from '../test/helpers/postgres.js';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const ROUNDS = Number(flag('rounds') ?? 40);
const STORES = (flag('stores') ?? 'etcd,postgres').split(',');
const CACHE = 'cache:\n  expiry:\n    any: 5m\n    unused: 5m\n';

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;
const ms = (x: number) => `${x.toFixed(1)} ms`;

async function measure(name: string, keystore: () => string): Promise<void> {
  const a: ClusterServer = await startClusterServer({ keystore, sections: CACHE });
  const b: ClusterServer = await startClusterServer({ keystore, sections: CACHE, share: a });
  const delays: number[] = [];
  const deletes: number[] = [];
  try {
    for (let i = 0; i < ROUNDS; i++) {
      const key = `propagation-${i}`;
      if ((await a.once('POST', `/v1/key/create/${key}`)).status !== 200) throw new Error(`create ${key} failed`);
      for (let j = 0; j < 4; j++) if ((await b.once('POST', `/v1/key/generate/${key}`, {})).status !== 200) throw new Error(`b cannot use ${key}`);
      const start = performance.now();
      if ((await a.once('DELETE', `/v1/key/delete/${key}`)).status !== 200) throw new Error(`delete ${key} failed`);
      const answered = performance.now();
      deletes.push(answered - start);
      let refused = 0;
      let last = answered;
      while (refused < 2) {
        if (performance.now() - answered > 30_000) throw new Error(`${key}: b still serves it after 30 s`);
        const status = (await b.once('POST', `/v1/key/generate/${key}`, {})).status;
        refused = status === 404 ? refused + 1 : 0;
        if (refused === 1) last = performance.now();
      }
      delays.push(last - answered);
      await sleep(20);
    }
  } finally {
    await a.close();
    await b.close();
  }
  console.log(
    `${name}: ${ROUNDS} deletes; seen by the other server after median ${ms(percentile(delays, 50))}, p90 ${ms(percentile(delays, 90))}, max ${ms(Math.max(...delays))}` +
      ` (the delete itself took median ${ms(percentile(deletes, 50))}, including every worker of its server dropping the key)`,
  );
}

if (STORES.includes('etcd')) {
  if (!isEtcdInstalled()) console.log('etcd: not installed (apt-get install etcd-server etcd-client)');
  else {
    const etcd = await startEtcd();
    try {
      await measure('etcd', () => `  etcd:\n    endpoints:\n      - ${etcd.endpoints[0]}\n    prefix: kes/keys/\n`);
    } finally {
      await etcd.close();
    }
  }
}
if (STORES.includes('postgres')) {
  if (postgresBinDir() === undefined) console.log('PostgreSQL: not installed (apt-get install postgresql libpq-dev)');
  else {
    const pg = await startPostgres();
    try {
      await measure('PostgreSQL', () => `  postgres:\n    url: ${pg.url}\n    table: kes_keys\n`);
    } finally {
      await pg.close();
    }
  }
}
