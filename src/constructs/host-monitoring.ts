/**
 * What the monitoring layer watches on the EC2 host (`PlatformMonitoring`): the host's own log
 * groups (system and docker), its CPU, memory and disks, each developer's container restarts and
 * share of the data volume from the metrics the host publishes, and their dashboard widgets.
 */
import type { Instance } from "@cdktf/provider-aws/lib/instance";
import { DATA_MOUNT, developerAlarmNames, logGroupNames, metricNames } from "../naming";
import type { Developer, Fleet } from "../roster";
import { THRESHOLDS } from "../thresholds";
import type { AlarmSpec, PlatformMonitoring, WidgetSpec } from "./monitoring";

/** The host's alarms on itself: CPU, memory, data and root disk, all silent while it sleeps. */
function hostAlarms(fleet: Fleet, instanceId: { InstanceId: string }): AlarmSpec[] {
  const metrics = metricNames(fleet);
  const five = { period: 300, comparisonOperator: "GreaterThanThreshold" } as const;
  const disk = (name: string, path: string, threshold: number, alarmDescription: string): AlarmSpec => ({
    name,
    // Published by the CloudWatch agent on the host; the volumes themselves are safe while it sleeps.
    sleepsWithHost: true,
    alarmDescription,
    namespace: metrics.hostNamespace,
    metricName: metrics.diskUsedPercent,
    dimensions: { ...instanceId, path },
    statistic: "Maximum",
    ...five,
    evaluationPeriods: 1,
    threshold,
  });
  return [
    {
      name: "host-cpu",
      // EC2 publishes CPUUtilization only for a running instance: INSUFFICIENT_DATA while stopped.
      sleepsWithHost: true,
      alarmDescription: `Host CPU above ${THRESHOLDS.hostCpuPercent}% for 15 minutes: check docker stats, consider a larger instance type.`,
      namespace: "AWS/EC2",
      metricName: "CPUUtilization",
      dimensions: instanceId,
      statistic: "Average",
      period: 300,
      evaluationPeriods: 3,
      threshold: THRESHOLDS.hostCpuPercent,
      comparisonOperator: "GreaterThanThreshold",
    },
    {
      name: "host-memory",
      // Published by the CloudWatch agent on the host.
      sleepsWithHost: true,
      alarmDescription: `Host memory above ${THRESHOLDS.hostMemoryPercent}% for 15 minutes (CloudWatch agent).`,
      namespace: metrics.hostNamespace,
      metricName: metrics.memoryUsedPercent,
      dimensions: instanceId,
      statistic: "Average",
      period: 300,
      evaluationPeriods: 3,
      threshold: THRESHOLDS.hostMemoryPercent,
      comparisonOperator: "GreaterThanThreshold",
      // No data means the agent is down, which the dashboard shows; it is not itself a memory problem.
      treatMissingData: "missing",
    },
    disk(
      "data-disk",
      DATA_MOUNT,
      THRESHOLDS.dataDiskPercent,
      `Data volume ${DATA_MOUNT} above ${THRESHOLDS.dataDiskPercent}% full: grow data_volume_size_gb.`,
    ),
    disk(
      "root-disk",
      "/",
      THRESHOLDS.rootDiskPercent,
      `Root disk above ${THRESHOLDS.rootDiskPercent}% full: Docker images and container logs live there; prune old images (docker image prune) or grow the root volume.`,
    ),
  ];
}

/** One developer's alarms on the metrics the host publishes for their container. */
function containerAlarms(fleet: Fleet, developer: Developer): AlarmSpec[] {
  const metrics = metricNames(fleet);
  const alarmNames = developerAlarmNames(developer);
  const dimensions = { [metrics.developerDimension]: developer.name };
  const tags = { developer: developer.name };
  return [
    {
      name: alarmNames.restarts,
      // Published by the host's metrics timer, from the containers the host runs.
      sleepsWithHost: true,
      alarmDescription: `${developer.name}'s container restarted (crash or out of memory at its limit): docker logs ${developer.name}.`,
      namespace: metrics.containerNamespace,
      metricName: metrics.containerRestarts,
      dimensions,
      statistic: "Sum",
      period: 300,
      evaluationPeriods: 1,
      threshold: THRESHOLDS.containerRestartsPer5Minutes,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
      tags,
    },
    {
      name: alarmNames.diskShare,
      // Published by the host's disk-usage timer: no samples while it sleeps.
      sleepsWithHost: true,
      alarmDescription: `${developer.name}'s directory ${DATA_MOUNT}/${developer.name} uses more than ${THRESHOLDS.developerDataVolumeSharePercent}% of the data volume: ask them to clean up, or grow data_volume_size_gb.`,
      namespace: metrics.containerNamespace,
      metricName: metrics.dataVolumeSharePercent,
      dimensions,
      statistic: "Maximum",
      // Published every 15 minutes: two samples per period, so one late sample is no gap.
      period: 1800,
      evaluationPeriods: 1,
      threshold: THRESHOLDS.developerDataVolumeSharePercent,
      comparisonOperator: "GreaterThanThreshold",
      // No sample (host stopped, volume unmounted for a restore) says nothing about disk usage.
      treatMissingData: "notBreaching",
      tags,
    },
  ];
}

/** The host's dashboard widgets: itself at a glance, and what it publishes per developer. */
function hostWidgets(fleet: Fleet, instanceId: string): { overview: WidgetSpec; perDeveloper: WidgetSpec[] } {
  const metrics = metricNames(fleet);
  const perContainer = (metricName: string) =>
    fleet.developers.map((d) => [metrics.containerNamespace, metricName, metrics.developerDimension, d.name, { label: d.name }]);
  return {
    overview: {
      title: "Host CPU / memory / data and root disk (%)",
      metrics: [
        ["AWS/EC2", "CPUUtilization", "InstanceId", instanceId, { label: "CPU" }],
        [metrics.hostNamespace, metrics.memoryUsedPercent, "InstanceId", instanceId, { label: "memory" }],
        [metrics.hostNamespace, metrics.diskUsedPercent, "InstanceId", instanceId, "path", DATA_MOUNT, { label: "data disk" }],
        [metrics.hostNamespace, metrics.diskUsedPercent, "InstanceId", instanceId, "path", "/", { label: "root disk" }],
      ],
      x: 0,
      y: 0,
      extra: { yAxis: { left: { min: 0, max: 100 } } },
    },
    perDeveloper: [
      { title: "Container memory per developer (%)", metrics: perContainer(metrics.containerMemoryPercent), x: 0, y: 12 },
      { title: "Container CPU per developer (%)", metrics: perContainer(metrics.containerCpuPercent), x: 12, y: 12 },
      {
        title: "Data volume used per developer (% of the volume)",
        metrics: perContainer(metrics.dataVolumeSharePercent),
        x: 0,
        y: 18,
        extra: {
          stat: "Maximum",
          period: 900,
          yAxis: { left: { min: 0 } },
          annotations: { horizontal: [{ label: "alarm", value: THRESHOLDS.developerDataVolumeSharePercent }] },
        },
      },
    ],
  };
}

/** What the monitoring layer watches on the EC2 host `instance` of `fleet`. */
export function hostMonitoring(fleet: Fleet, instance: Instance): PlatformMonitoring {
  const names = logGroupNames(fleet);
  const widgets = hostWidgets(fleet, instance.id);
  return {
    logGroups: [
      { key: "system", name: names.system },
      { key: "docker", name: names.docker },
    ],
    alarms: hostAlarms(fleet, { InstanceId: instance.id }),
    developerAlarms: (developer) => containerAlarms(fleet, developer),
    overviewWidget: widgets.overview,
    developerWidgets: widgets.perDeveloper,
  };
}
