/** Alarm thresholds: the one place they are set. */
export const THRESHOLDS = {
  /** Host CPU utilisation, percent, average over 3 × 5 minutes. */
  hostCpuPercent: 80,
  /** Host memory used, percent (CloudWatch agent), average over 3 × 5 minutes. */
  hostMemoryPercent: 85,
  /** Data volume used, percent (CloudWatch agent), over 5 minutes. */
  dataDiskPercent: 85,
  /** Root disk used, percent (CloudWatch agent), over 5 minutes: Docker images and logs live there. */
  rootDiskPercent: 85,
  /**
   * Share of the data volume one developer's directory uses, percent, from two 15-minute samples:
   * past it, one developer holds as much as two others' fair share on a full team and can fill the
   * volume for everyone.
   */
  developerDataVolumeSharePercent: 40,
  /** ALB 5xx responses (load balancer and targets together) per 5 minutes. */
  alb5xxPer5Minutes: 10,
  /** Unhealthy targets in a developer's target group, for 2 consecutive minutes. */
  unhealthyTargets: 0,
  /** Restarts of a developer's container per 5 minutes. */
  containerRestartsPer5Minutes: 0,
  /** A developer's ECS task: CPU or memory used, percent of its Fargate size, average over 3 × 5 minutes. */
  taskCpuPercent: 90,
  taskMemoryPercent: 90,
  /**
   * The homes' EFS file system: growth in GiB a day for each developer of the roster, at the pace of
   * the last hour, for 5 of 6 hours. EFS never fills, so what matters is someone filling it (a
   * runaway log, a cache, a copied data set): the bill grows with every GiB.
   */
  homesGrowthGiBPerDayPerDeveloper: 5,
  /** The homes' file system: percent of its throughput limit used, average over 3 × 5 minutes. */
  homesThroughputPercent: 80,
  /** Monthly budget notifications, percent of the budget (actual spend). */
  budgetPercents: [80, 100, 120],
  /** Days between reminders to rotate the Anthropic API keys (90-day rotation). */
  apiKeyRotationDays: 90,
} as const;
