/** Every top-level `kes` command, in the order `kes --help` lists them. */
import type { Command } from '../command.js';
import { serverCommand } from './server.js';
import { identityCommand } from './identity.js';
import { migrateCommand } from './migrate.js';

export const COMMANDS: Command[] = [serverCommand, identityCommand, migrateCommand];
