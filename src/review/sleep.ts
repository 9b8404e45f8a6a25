/**
 * Sleep when idle turned on or off on ECS: Terraform shows it as a new task definition per
 * developer (the activity container joins or leaves each task) and an updated service, which reads
 * like any in-place update; the reviewer needs it said that every developer's task is replaced.
 */
import type { Fleet } from "../roster";

export interface SleepChange {
  /** Whether the fleet sleeps after the change. */
  readonly on: boolean;
}

/** The change from `base` to `current` that replaces every ECS task, or undefined. */
export function sleepChangeOf(base: Fleet, current: Fleet): SleepChange | undefined {
  const [was, is] = [base.sleep !== undefined, current.sleep !== undefined];
  if (was === is || base.platform !== "ecs" || current.platform !== "ecs") return undefined;
  return { on: is };
}

/** The review's sentence on the change. */
export function sleepChangeNotice({ on }: SleepChange): string {
  const container = on ? "gains the activity container that measures whether the developer is idle" : "loses its activity container";
  return `! Sleep change: sleep when idle is turned ${on ? "on" : "off"}. Each developer's ECS task ${container}, so every developer's task is replaced at the apply: their workbench reconnects after a minute or two, and open terminals and running jobs end (homes are untouched).`;
}
