/** The in-memory store: dev mode and tests only; no config file names it. */
import { backend } from '../backend.js';

export interface MemConfig {
  type: 'mem';
}

export const memBackend = backend<MemConfig>({
  type: 'mem',
  connect: async () => new (await import('./memory.js')).MemKeyStore(),
  describe: () => 'In-memory (keys are lost when the server stops)',
});
