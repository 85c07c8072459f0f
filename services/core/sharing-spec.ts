import type { SharingPolicy } from '../../optimizer/model.ts';
import type { Config } from '../config.ts';
import type { StoredNode } from '../store/topology-store.ts';

/**
 * The optimizer's sharing policy for one grid area (docs/optimizer.md, "Sharing"), from the setting and the
 * area's CPO nodes; undefined when there is nothing to share (policy 'none', or fewer than two CPOs).
 * - 'proportional', 'maxmin': weights = each CPO node's importLimitKw, its contracted capacity (1 where unset);
 * - 'priority': classes = each CPO node's sharingClass; CPOs without one are left out of the map, so the
 *   optimizer gives them the lowest class and says so in the allocation's reason;
 * - 'fcfs': `creationOrder`, the CPO ids in the order their nodes were created (topology-store.ts
 *   `listCposByCreation`): the order they asked for capacity.
 */
export function sharingSpec(setting: Config['SHARING_POLICY'], cpos: StoredNode[], creationOrder: readonly string[]): SharingPolicy | undefined {
  if (setting === 'none' || cpos.length < 2) return undefined;
  if (setting === 'priority') {
    return { policy: 'priority', classes: Object.fromEntries(cpos.filter((c) => c.sharingClass !== null).map((c) => [c.id, c.sharingClass!])) };
  }
  if (setting === 'fcfs') return { policy: 'fcfs', order: [...creationOrder] };
  return { policy: setting, weights: Object.fromEntries(cpos.map((c) => [c.id, c.importLimitKw ?? 1])) };
}
