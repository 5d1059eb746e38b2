/** `kes migrate`: placeholder, replaced by the migrate command. */
import type { Command } from '../command.js';

export const migrateCommand: Command = { name: 'migrate', summary: 'Migrate keys between key stores', usage: 'kes migrate --from FILE --to FILE [PATTERN]' };
