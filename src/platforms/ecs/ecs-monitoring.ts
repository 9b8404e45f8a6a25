/**
 * What the monitoring layer watches on the ECS platform (`PlatformMonitoring`): the homes' file
 * system (how fast what it stores grows, and how much of its throughput is used), and per developer their
 * service's running task and its CPU and memory against its Fargate size (Container Insights), with
 * their dashboard widgets. A failed deployment is an event, not a metric: `EcsPlatform` sends it.
 */
import type { CloudwatchMetricAlarmMetricQuery } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { developerAlarmNames } from "../../naming";
import type { Developer, Fleet } from "../../roster";
import type { AlarmSpec, PlatformMonitoring, WidgetSpec } from "../../constructs/monitoring";
import { THRESHOLDS } from "../../thresholds";

/** Container Insights' namespace of ECS services and tasks. */
const INSIGHTS = "ECS/ContainerInsights";
const GIB = 1024 ** 3;

/** The dimensions of a developer's service. */
const serviceOf = (fleet: Fleet, developer: Developer) => ({ ClusterName: fleet.namePrefix, ServiceName: developer.name });

/** `100 * used / reserved` of a service, as an alarm's metric math. */
function percentOfSize(fleet: Fleet, developer: Developer, used: string, reserved: string) {
  const metric = (id: string, metricName: string) => ({
    id,
    metric: { namespace: INSIGHTS, metricName, dimensions: serviceOf(fleet, developer), period: 300, stat: "Average" },
  });
  return [
    metric("used", used),
    metric("size", reserved),
    { id: "percent", expression: "100 * used / size", label: `${used} (%)`, returnData: true },
  ];
}

/** One developer's alarms: their task is not running, or near its size in CPU or memory. */
function serviceAlarms(fleet: Fleet, developer: Developer): AlarmSpec[] {
  const names = developerAlarmNames(developer);
  const tags = { developer: developer.name };
  const near = (name: string, what: string, used: string, reserved: string, threshold: number): AlarmSpec => ({
    name,
    // No task while the environment sleeps: no samples, and nothing to say.
    sleepsWithHost: true,
    alarmDescription: `${developer.name}'s task uses more than ${threshold}% of its ${what} for 15 minutes: raise their ${what === "CPU" ? "cpuLimit" : "memoryLimitGiB"}, or ask what runs.`,
    metricQuery: percentOfSize(fleet, developer, used, reserved),
    evaluationPeriods: 3,
    threshold,
    comparisonOperator: "GreaterThanThreshold",
    treatMissingData: "notBreaching",
    tags,
  });
  return [
    {
      name: names.notRunning,
      // The schedule and sleep take the service to 0 tasks on purpose.
      sleepsWithHost: true,
      alarmDescription: `${developer.name}'s service runs fewer tasks than it should: the task is failing to start or its health checks (ECS console, events of service ${developer.name}).`,
      metricQuery: [
        {
          id: "running",
          metric: {
            namespace: INSIGHTS,
            metricName: "RunningTaskCount",
            dimensions: serviceOf(fleet, developer),
            period: 60,
            stat: "Minimum",
          },
        },
        {
          id: "desired",
          metric: {
            namespace: INSIGHTS,
            metricName: "DesiredTaskCount",
            dimensions: serviceOf(fleet, developer),
            period: 60,
            stat: "Maximum",
          },
        },
        { id: "missing", expression: "FILL(desired, 0) - FILL(running, 0)", label: "tasks missing", returnData: true },
      ],
      evaluationPeriods: 5,
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
      tags,
    },
    near(names.taskCpu, "CPU", "CpuUtilized", "CpuReserved", THRESHOLDS.taskCpuPercent),
    near(names.taskMemory, "memory", "MemoryUtilized", "MemoryReserved", THRESHOLDS.taskMemoryPercent),
  ];
}

/** Hours of growth the homes' storage alarm looks at, and how many of them must be too fast. */
const GROWTH_HOURS = { evaluated: 6, breaching: 5 } as const;

/**
 * The homes' file system grows too fast: `RATE` of the hourly stored bytes, as GiB a day, above
 * the per-developer pace times the roster's size. A pace, not a level: EFS never fills, so a level
 * says only that the team is large, and a pace says someone is filling it now. One point of the
 * six may be missing (RATE needs the point before it) or slow.
 */
function homesGrowthAlarm(fleet: Fleet, bytes: CloudwatchMetricAlarmMetricQuery): AlarmSpec {
  const perDeveloper = THRESHOLDS.homesGrowthGiBPerDayPerDeveloper;
  const threshold = perDeveloper * fleet.developers.length;
  return {
    name: "homes-storage",
    // The homes are there whether or not anyone works.
    sleepsWithHost: false,
    alarmDescription:
      `The homes' file system grew faster than ${threshold} GiB a day (${perDeveloper} GiB for each of the ${fleet.developers.length} developers) ` +
      `in ${GROWTH_HOURS.breaching} of the last ${GROWTH_HOURS.evaluated} hours: someone is filling their home (a runaway log, a cache, a copied data set). ` +
      "EFS has no size limit and bills every GiB: find the home that grows (du -sh ~ in each task, through shell.sh where ecs.exec is on) and ask its developer.",
    metricQuery: [bytes, { id: "growth", expression: `RATE(bytes) * 86400 / ${GIB}`, label: "growth (GiB a day)", returnData: true }],
    evaluationPeriods: GROWTH_HOURS.evaluated,
    datapointsToAlarm: GROWTH_HOURS.breaching,
    threshold,
    comparisonOperator: "GreaterThanThreshold",
    treatMissingData: "notBreaching",
  };
}

/** The homes' file system: how fast it grows, and the share of its throughput the tasks use. */
function homesAlarms(fleet: Fleet, fileSystemId: string): AlarmSpec[] {
  const efs = (id: string, metricName: string, stat: string, dimensions: Record<string, string> = {}, period = 300) => ({
    id,
    metric: { namespace: "AWS/EFS", metricName, dimensions: { FileSystemId: fileSystemId, ...dimensions }, period, stat },
  });
  return [
    homesGrowthAlarm(fleet, efs("bytes", "StorageBytes", "Average", { StorageClass: "Total" }, 3600)),
    {
      name: "homes-throughput",
      // Nobody works while the environment sleeps: no I/O.
      sleepsWithHost: true,
      alarmDescription: `The developers use more than ${THRESHOLDS.homesThroughputPercent}% of the homes' throughput for 15 minutes: builds in the home are slow for everyone; move caches to /tmp.`,
      metricQuery: [
        efs("io", "MeteredIOBytes", "Sum"),
        efs("permitted", "PermittedThroughput", "Minimum"),
        { id: "percent", expression: "100 * (io / PERIOD(io)) / permitted", label: "throughput used (%)", returnData: true },
      ],
      evaluationPeriods: 3,
      threshold: THRESHOLDS.homesThroughputPercent,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
    },
  ];
}

/** The dashboard: the homes at a glance, then each developer's task CPU and memory against its size. */
function ecsWidgets(fleet: Fleet, fileSystemId: string): { overview: WidgetSpec; perDeveloper: WidgetSpec[] } {
  const perService = (metricName: string) =>
    fleet.developers.map((d) => [INSIGHTS, metricName, "ClusterName", fleet.namePrefix, "ServiceName", d.name, { label: d.name }]);
  return {
    overview: {
      title: "Homes: GiB stored and throughput used",
      metrics: [
        [{ expression: `bytes / ${GIB}`, label: "GiB stored", id: "gib" }],
        [
          "AWS/EFS",
          "StorageBytes",
          "FileSystemId",
          fileSystemId,
          "StorageClass",
          "Total",
          { id: "bytes", visible: false, stat: "Maximum" },
        ],
        ["AWS/EFS", "MeteredIOBytes", "FileSystemId", fileSystemId, { label: "bytes read and written", stat: "Sum", yAxis: "right" }],
      ],
      x: 0,
      y: 0,
    },
    perDeveloper: [
      { title: "Task CPU used per developer (CPU units)", metrics: perService("CpuUtilized"), x: 0, y: 12 },
      { title: "Task memory used per developer (MiB)", metrics: perService("MemoryUtilized"), x: 12, y: 12 },
      {
        title: "Tasks running per developer",
        metrics: perService("RunningTaskCount"),
        x: 0,
        y: 18,
        extra: { stat: "Minimum", period: 60 },
      },
    ],
  };
}

/** What the monitoring layer watches on the ECS platform of `fleet`, whose homes are `fileSystemId`. */
export function ecsMonitoring(fleet: Fleet, fileSystemId: string): PlatformMonitoring {
  const widgets = ecsWidgets(fleet, fileSystemId);
  return {
    logGroups: [],
    alarms: homesAlarms(fleet, fileSystemId),
    developerAlarms: (developer) => serviceAlarms(fleet, developer),
    overviewWidget: widgets.overview,
    developerWidgets: widgets.perDeveloper,
  };
}
