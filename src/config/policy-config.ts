/** The `policy:` section (protocol.md §3.1, §13.2, §13.3). */
import { parseKmsIdentity } from '../auth/kms-credentials.js';
import { isValidName } from '../policy/names.js';
import type { ConfigNode } from './config-node.js';
import type { PolicyConfigEntry } from './types.js';

/**
 * Reads the `policy:` section: name → `{allow, deny, identities}`, with the legacy v0.14
 * `paths` read as more `allow` patterns. Patterns are kept as written (no `${NAME}`
 * substitution, no validation). Policy names and identities must be valid names; an identity
 * belongs to at most one policy and may be neither the admin nor a TLS proxy.
 */
export function readPolicies(section: ConfigNode, admin: string, proxies: readonly string[]): Record<string, PolicyConfigEntry> {
  const policies: Record<string, PolicyConfigEntry> = {};
  const owners = new Map<string, string>();
  for (const [name, policy] of section.entries()) {
    if (!isValidName(name)) policy.fail(`invalid policy name ${JSON.stringify(name)}`);
    if (!policy.isNull && !policy.isMap) policy.fail('must be a mapping');
    const allow = [...policy.strings('allow', { env: false }), ...policy.strings('paths', { env: false })];
    const deny = policy.strings('deny', { env: false });
    const identities: string[] = [];
    for (const item of policy.get('identities')?.items() ?? []) {
      const identity = parseKmsIdentity(item.text()) ?? item.text(); // h1:… is the same identity as its hex
      if (!isValidName(identity)) item.fail(`invalid identity ${JSON.stringify(identity)}`);
      if (identity === admin) item.fail('the admin identity cannot be assigned to a policy');
      if (proxies.includes(identity)) item.fail('a TLS proxy identity cannot be assigned to a policy');
      const owner = owners.get(identity);
      if (owner !== undefined && owner !== name) item.fail(`identity ${identity} is already assigned to policy '${owner}'`);
      owners.set(identity, name);
      if (!identities.includes(identity)) identities.push(identity);
    }
    policies[name] = { allow, deny, identities };
  }
  return policies;
}
