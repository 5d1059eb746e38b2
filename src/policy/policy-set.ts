/**
 * The server's policies and identity assignments: each identity belongs to at most one policy.
 */
import { Policy, type PolicyRules } from './policy.js';
import { isValidName } from './names.js';
import type { Identity } from '../auth/identity.js';

/** A configured policy: its rules and the identities assigned to it. */
export interface PolicyConfig extends PolicyRules {
  identities: readonly Identity[];
}

/** Thrown when a set of policies is inconsistent. The message names the offending entry. */
export class PolicyConfigError extends Error {
  override readonly name = 'PolicyConfigError';
}

/** Immutable lookup from policy names and identities to compiled policies. */
export class PolicySet {
  private readonly policies = new Map<string, Policy>();
  private readonly assignments = new Map<Identity, string>();

  /**
   * @param config policy name → rules and identities
   * @throws PolicyConfigError for an invalid policy name or identity, or an identity assigned
   *   to more than one policy
   */
  constructor(config: Readonly<Record<string, PolicyConfig>> | ReadonlyMap<string, PolicyConfig> = {}) {
    const entries = config instanceof Map ? [...config.entries()] : Object.entries(config);
    for (const [name, p] of entries) {
      if (!isValidName(name)) throw new PolicyConfigError(`policy name '${name}' is empty, too long or contains invalid characters`);
      this.policies.set(name, new Policy(p));
      for (const id of p.identities) {
        if (!isValidName(id)) throw new PolicyConfigError(`identity '${id}' in policy '${name}' is empty, too long or contains invalid characters`);
        const other = this.assignments.get(id);
        if (other !== undefined) {
          throw new PolicyConfigError(`identity '${id}' is assigned to more than one policy ('${other}' and '${name}')`);
        }
        this.assignments.set(id, name);
      }
    }
  }

  /** The policy with the given name. */
  get(name: string): Policy | undefined {
    return this.policies.get(name);
  }

  /** The name of the policy the identity is assigned to. */
  policyNameOf(identity: Identity): string | undefined {
    return this.assignments.get(identity);
  }

  /** The policy the identity is assigned to. */
  policyOf(identity: Identity): Policy | undefined {
    const name = this.assignments.get(identity);
    return name === undefined ? undefined : this.policies.get(name);
  }

  /** Reports whether identity may access path: false for unknown identities (default deny). */
  isAllowed(identity: Identity, path: string): boolean {
    return this.policyOf(identity)?.isAllowed(path) ?? false;
  }

  /** Policy names, sorted. */
  names(): string[] {
    return [...this.policies.keys()].sort();
  }

  /** Assigned identities, sorted. */
  identities(): Identity[] {
    return [...this.assignments.keys()].sort();
  }
}
