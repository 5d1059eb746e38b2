/**
 * The check that follows reading a config: every mapping key that no reader asked for is
 * reported as a warning (KES ignores such keys silently, so a typo like `adress:` would make a
 * server listen on all interfaces without a word).
 */
import { isAlias, visit, type Node } from 'yaml';
import type { ConfigNode } from './config-node.js';
import { closestName } from './did-you-mean.js';

/**
 * Warns (ConfigNode.warn) about every field under node that no reader asked for or ignores:
 * `tls.auht: unknown field, ignored (did you mean "auth"?)`. Only the top key of an unknown
 * subtree is reported. Fields merged in with `<<` are checked where they are merged; a key
 * whose value is an anchor that is aliased elsewhere (`x-defaults: &d`) is a definition, not a
 * field, and is checked where it is used. Each mapping is checked once, however many aliases
 * reach it.
 */
export function warnUnknownFields(node: ConfigNode): void {
  new Walk(node).visit(node);
}

class Walk {
  private readonly seen = new Set<Node>();
  private aliased: Set<Node> | undefined;

  constructor(private readonly root: ConfigNode) {}

  visit(node: ConfigNode): void {
    if (node.node === null || this.seen.has(node.node)) return;
    if (node.isSeq) {
      this.seen.add(node.node);
      for (const item of node.items()) this.visit(item);
      return;
    }
    if (!node.isMap) return;
    this.seen.add(node.node);
    for (const field of node.fields()) {
      if (field.key === undefined) {
        field.value.warn('unknown-field', 'a mapping key that is not a single value, ignored');
      } else if (node.isKnown(field.key)) {
        this.visit(field.value);
      } else if (!this.isDefinition(field.written)) {
        field.value.warn('unknown-field', `unknown field, ignored${suggestion(node, field.key)}`);
      }
    }
  }

  /** Reports whether a value as written carries an anchor that some alias refers to. */
  private isDefinition(written: Node | null): boolean {
    if (written === null || isAlias(written) || written.anchor === undefined) return false;
    if (this.aliased === undefined) {
      const aliased = new Set<Node>();
      const doc = this.root.document;
      visit(doc, {
        Alias: (_, alias) => {
          const target = alias.resolve(doc);
          if (target !== undefined) aliased.add(target as Node);
        },
      });
      this.aliased = aliased;
    }
    return this.aliased.has(written);
  }
}

/** ` (did you mean "auth"?)` for a key close to one asked for here, or written at another level. */
function suggestion(node: ConfigNode, key: string): string {
  const near = closestName(key, node.askedKeys());
  if (near !== undefined) return ` (did you mean ${JSON.stringify(near)}?)`;
  const elsewhere = node.elsewhere(key);
  return elsewhere === undefined ? '' : ` (did you mean ${JSON.stringify(elsewhere)}?)`;
}

