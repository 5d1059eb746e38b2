/**
 * Faults of a real etcd under a running server (issue 7, item 4): killed under load, down
 * with offline caching, restarted, hung. The scenarios are in test/helpers/store-faults.ts.
 */
import { describeStoreFaults } from '../helpers/store-faults.js';
import { etcdSkip, startEtcd } from '../helpers/etcd.js';

const skip = etcdSkip();

describeStoreFaults('etcd', {
  ...(skip ? { skip } : {}),
  async start() {
    const etcd = await startEtcd();
    const member = etcd.members[0]!;
    return {
      keystore: (timeoutMs) => ({ type: 'etcd', endpoints: etcd.endpoints, prefix: 'kes/keys/', timeoutMs }),
      kill: () => member.stop('SIGKILL'),
      restart: () => member.start(),
      pause: () => member.pause(),
      resume: () => member.resume(),
      close: () => etcd.close(),
    };
  },
});
