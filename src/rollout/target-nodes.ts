/**
 * Balancer drain/restore around a target, and the node-by-node walk of a
 * shared-storage target (`nodes`): drained, activated, verified, restored in turn.
 */
import type { NodeConfig } from '../config/types.js';
import { TargetSteps } from './target-steps.js';

export class TargetNodes extends TargetSteps {
  /** The balancer drain started: the server must be restored. */
  protected drainStarted = false;
  /** Nodes activated with this deploy's files: a rollback activates them again. */
  protected activatedNodes: NodeConfig[] = [];

  /** Take the target out of service at the balancer; from here `restore` must run. */
  protected async drain(signal: AbortSignal): Promise<boolean> {
    const { balancer } = this.ctx;
    const server = this.node ? this.node.balancerServer : this.target.balancerServer;
    if (!balancer || server === undefined) return true;
    this.drainStarted = true;
    return this.step('drain', () => balancer.drain(server, signal));
  }

  /** Put the target back in service, whenever `drain` started (also after a failure or a cancel). */
  protected async restore(signal: AbortSignal): Promise<boolean> {
    const { balancer } = this.ctx;
    const server = this.node ? this.node.balancerServer : this.target.balancerServer;
    if (!balancer || server === undefined || !this.drainStarted) return true;
    this.drainStarted = false;
    return this.step('restore', () => balancer.restore(server, signal));
  }

  /**
   * Shared storage: the files are in place once; now each node in turn is
   * drained, activated, verified and restored (restored also when a step failed).
   */
  protected async runNodes(signal: AbortSignal, cleanup: AbortSignal): Promise<boolean> {
    for (const node of this.target.nodes ?? []) {
      if (signal.aborted) return false;
      this.node = node;
      try {
        let ok = await this.drain(signal);
        if (ok) {
          this.activatedNodes.push(node);
          ok = await this.hook('activate', this.target.hooks.activate, signal);
        }
        if (ok) ok = await this.verify(signal);
        const restored = await this.restore(cleanup);
        if (!ok || !restored) return false;
      } finally {
        this.node = null;
      }
    }
    return true;
  }

  /** After a rollback of shared files: every node that loaded them loads the old ones, drained around it. */
  protected async reactivateNodes(signal: AbortSignal): Promise<void> {
    const nodes = this.activatedNodes;
    this.activatedNodes = [];
    for (const node of nodes) {
      this.node = node;
      try {
        if (await this.drain(signal)) await this.hook('activate', this.target.hooks.activate, signal);
        await this.restore(signal);
      } finally {
        this.node = null;
      }
    }
  }
}
