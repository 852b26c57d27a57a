import type { PitrPlan } from '../../core/pitr.js';
import type { AgentEnv } from '../env.js';

/**
 * The recovery plans recorded on this agent, newest first, optionally only one
 * cluster's and only unfinished ones: what the TUI's wizard offers to resume.
 */
export async function listPlans(env: AgentEnv, p: { cluster?: string; unfinished?: boolean }): Promise<PitrPlan[]> {
  const state = await env.state().catch(() => undefined);
  if (!state) return [];
  const plans = Object.values((await state.read()).plans);
  return plans
    .filter((plan) => !p.cluster || plan.cluster === p.cluster)
    .filter((plan) => !p.unfinished || plan.steps.some((s) => s.status !== 'done'))
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}
