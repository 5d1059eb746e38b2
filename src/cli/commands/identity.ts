/** `kes identity`: placeholder, replaced by the identity commands. */
import type { Command } from '../command.js';

export const identityCommand: Command = { name: 'identity', summary: 'Manage identities', usage: 'kes identity <command>', subcommands: [] };
