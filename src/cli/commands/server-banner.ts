/** The start banner of `kes server` (protocol.md §14). */
import type { ServerConfig } from '../../config/types.js';
import type { BuildInfo } from '../../util/build-info.js';
import { levelName } from '../../log/slog-text.js';
import { LOG_OFF } from '../../config/types.js';
import { interfaceAddresses, type DevSetup } from '../../server/dev.js';
import { paint } from '../output.js';
import { describeKeyStore } from '../../keystore/registry.js';
import { cliInvocation, shellWord } from '../invocation.js';

/** The https URLs clients can use: every interface address for 0.0.0.0 / ::. */
export function apiUrls(host: string, port: number): string[] {
  const wildcard = host === '0.0.0.0' || host === '::' || host === '';
  const hosts = wildcard ? interfaceAddresses().filter((ip) => host !== '0.0.0.0' || !ip.includes(':')) : [host];
  return hosts.map((h) => `https://${h.includes(':') ? `[${h}]` : h}:${port}`);
}

const isIdentity = (s: string) => /^[0-9a-f]{64}$/.test(s);

export function banner(o: { config: ServerConfig; build: BuildInfo; host: string; port: number; color: boolean; dev?: DevSetup; workers: number; cli?: string }): string {
  const { config, build, color } = o;
  const label = (s: string) => paint(color, s.padEnd(12), 'cyan');
  const urls = apiUrls(o.host, o.port);
  const lines = [
    `${label('Version')}${build.version}${build.commit ? `   commit=${build.commit}` : ''}`,
    `${label('Runtime')}node ${process.version} ${process.platform}/${process.arch}`,
    `${label('License')}Apache-2.0   https://www.apache.org/licenses/LICENSE-2.0`,
    '',
    `${label('KMS')}${describeKeyStore(config.keystore)}`,
    ...urls.map((u, i) => `${label(i === 0 ? 'API' : '')}· ${u}`),
    '',
    `${label('Admin')}${isIdentity(config.admin) ? config.admin : '<disabled>'}`,
    `${label('Workers')}${o.workers} process${o.workers === 1 ? '' : 'es'}`,
    `${label('Logs')}error=stderr level=${config.log.error >= LOG_OFF ? 'off' : levelName(config.log.error)}`,
    `${label('')}audit=stdout level=${config.log.audit >= LOG_OFF ? 'off' : levelName(config.log.audit)}`,
  ];
  if (config.tls.auth !== 'on' && !o.dev) {
    lines.push('', paint(color, 'Warning: client certificates are not verified (tls.auth: off): access is decided by identity and policy only.', 'yellow'));
  }
  if (o.dev) {
    const d = o.dev;
    const url = urls.find((u) => u.includes('127.0.0.1')) ?? urls[0]!;
    lines.push(
      '',
      paint(color, '=> Development mode: an in-memory key store and a throw-away admin credential.', 'yellow'),
      `${label('API key')}${d.apiKey.toString()}`,
      `${label('Files')}${d.dir}`,
      '',
      'Try it:',
      `  curl --cacert ${shellWord(d.files.serverCert)} --cert ${shellWord(d.files.adminCert)} --key ${shellWord(d.files.adminKey)} ${url}/v1/status`,
      '',
      'Or with the kes CLI:',
      `  export KES_SERVER=${url}`,
      `  export KES_API_KEY=${d.apiKey.toString()}`,
      `  export KES_CAPATH=${shellWord(d.files.serverCert)}`,
      `  ${o.cli ?? cliInvocation()} key create my-key`,
    );
  }
  lines.push('', '=> Server is up and running');
  return lines.join('\n') + '\n';
}
