/**
 * Which mapping keys the readers of a config asked for, so that the keys nobody asked for can
 * be reported as unknown afterwards (unknown-fields.ts). Shared by every ConfigNode of a
 * document through its ReadContext.
 */
import type { Node } from 'yaml';

/** The keys asked for, per YAML mapping and per field path. */
export class FieldAccess {
  /** Per mapping node (aliases resolved): the keys some reader asked for, present or not. */
  private readonly asked = new WeakMap<Node, Set<string>>();
  /** Per mapping node: keys a reader accepts and ignores (KES legacy fields). */
  private readonly ignored = new WeakMap<Node, Set<string>>();
  /** Per field path (list indices as `[]`): the keys asked for, also under missing sections. */
  private readonly byPath = new Map<string, Set<string>>();

  /** Records that a reader asked for key in the mapping node (null: missing) at path. */
  ask(node: Node | null, path: string, key: string): void {
    if (node !== null) add(this.asked, node, key);
    const at = normalize(path);
    let keys = this.byPath.get(at);
    if (keys === undefined) this.byPath.set(at, (keys = new Set()));
    keys.add(key);
  }

  /** Records that key in the mapping node is accepted and ignored. */
  ignore(node: Node | null, key: string): void {
    if (node !== null) add(this.ignored, node, key);
  }

  /** Reports whether some reader asked for, or ignores, key in the mapping node. */
  isKnown(node: Node, key: string): boolean {
    return (this.asked.get(node)?.has(key) ?? false) || (this.ignored.get(node)?.has(key) ?? false);
  }

  /** The keys asked for in the mapping node (not the ignored ones): the did-you-mean candidates. */
  askedIn(node: Node): ReadonlySet<string> {
    return this.asked.get(node) ?? new Set();
  }

  /**
   * The shallowest other field path (`[]` for list indices) where key was asked for, for a key
   * written at the wrong level (`auth:` at the top instead of under `tls:`); undefined if none.
   */
  elsewhere(key: string, path: string): string | undefined {
    const here = normalize(path);
    let best: string | undefined;
    for (const [at, keys] of this.byPath) {
      if (at === here || !keys.has(key)) continue;
      if (best === undefined || depth(at) < depth(best)) best = at;
    }
    return best === undefined ? undefined : best === '' ? key : `${best}.${key}`;
  }
}

function add(map: WeakMap<Node, Set<string>>, node: Node, key: string): void {
  let keys = map.get(node);
  if (keys === undefined) map.set(node, (keys = new Set()));
  keys.add(key);
}

function normalize(path: string): string {
  return path.replace(/\[\d+\]/g, '[]');
}

function depth(path: string): number {
  return path === '' ? 0 : path.split('.').length;
}
