import { MemKeyStore } from './memory.js';
import { describeKeyStore } from '../../../test/helpers/keystore-conformance.js';

describeKeyStore('memory', async () => ({ store: new MemKeyStore() }));
