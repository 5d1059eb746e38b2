/** Every top-level `kes` command, in the order `kes --help` lists them. */
import type { Command } from '../command.js';
import { serverCommand } from './server.js';
import { lsCommand } from './ls.js';
import { keyCommand } from './key.js';
import { policyCommand } from './policy.js';
import { identityCommand } from './identity.js';
import { identityInfoCommand, identityLsCommand } from './identity-server.js';
import { statusCommand } from './status.js';
import { logCommand } from './log.js';
import { metricCommand } from './metric.js';
import { migrateCommand } from './migrate.js';

// The server-side identity commands join the local ones of identity.ts.
identityCommand.subcommands = [...(identityCommand.subcommands ?? []), identityInfoCommand, identityLsCommand];

export const COMMANDS: Command[] = [serverCommand, lsCommand, keyCommand, policyCommand, identityCommand, statusCommand, logCommand, metricCommand, migrateCommand];
