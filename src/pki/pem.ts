/** PEM encoding (RFC 7468, plus the RFC 1423 headers of legacy encrypted keys). */

export interface PemBlock {
  /** The label, e.g. `CERTIFICATE`, `PRIVATE KEY`, `EC PRIVATE KEY`. */
  type: string;
  /** RFC 1423 headers such as `Proc-Type` and `DEK-Info` (empty for RFC 7468 blocks). */
  headers: Record<string, string>;
  der: Buffer;
  /** The block's text, from BEGIN to END line inclusive. */
  text: string;
}

/** Thrown for malformed PEM. The message never contains the block's content. */
export class PemError extends Error {
  override readonly name = 'PemError';
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;

/** Every PEM block in text, in order; text outside blocks is ignored. */
export function decodePem(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const [whole, type, body, endType] = m as unknown as [string, string, string, string];
    if (type !== endType) throw new PemError(`PEM block '${type}' ends with '${endType}'`);
    const headers: Record<string, string> = {};
    const lines = body.split(/\r?\n/);
    let i = 0;
    for (; i < lines.length; i++) {
      const h = /^([A-Za-z-]+):\s*(.*)$/.exec(lines[i]!);
      if (!h) break;
      headers[h[1]!] = h[2]!.trim();
    }
    const b64 = lines.slice(i).join('').replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) throw new PemError(`PEM block '${type}' is not valid base64`);
    blocks.push({ type, headers, der: Buffer.from(b64, 'base64'), text: whole });
  }
  return blocks;
}

/** Encodes DER bytes as a PEM block with 64-character lines and a trailing newline. */
export function encodePem(type: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join('\n')}${lines.length ? '\n' : ''}-----END ${type}-----\n`;
}
