/**
 * Faults of a real PostgreSQL under a running server (issue 7, item 4): killed under load,
 * down with offline caching, restarted (crash recovery), hung. The scenarios are in
 * test/helpers/store-faults.ts.
 */
import { describeStoreFaults } from '../helpers/store-faults.js';
import { postgresSkip, startPostgres } from '../helpers/postgres.js';

const skip = postgresSkip();

describeStoreFaults('PostgreSQL', {
  ...(skip ? { skip } : {}),
  async start() {
    // Commits must survive the crash: (b) checks every acknowledged create.
    const pg = await startPostgres({ durableCommits: true });
    return {
      keystore: (timeoutMs) => ({ ...pg.keystore('kes_keys'), timeoutMs }),
      kill: () => pg.kill(),
      restart: () => pg.start(),
      pause: () => pg.pause(),
      resume: () => pg.resume(),
      close: () => pg.close(),
    };
  },
});
