/** How a failed file or socket operation reads in a message: `no such file or directory`, not `ENOENT`. */

/**
 * The reason of a system error in words (`no such file or directory`, `permission denied`),
 * without the code and the path Node puts around it; other errors' messages as they are.
 */
export function systemErrorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  if (typeof code !== 'string' || !err.message.startsWith(`${code}: `)) return err.message;
  // `ENOENT: no such file or directory, open 'x.crt'`
  return err.message.slice(code.length + 2).split(',')[0]!.trim() || code;
}
