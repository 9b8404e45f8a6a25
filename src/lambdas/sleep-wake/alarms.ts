/**
 * A sleeping developer raises no alarm: the sleeper turns their alarms' actions off, the wake
 * turns them back on. Which alarms a developer has depends on the platform.
 */
import {
  type CloudWatchClient,
  DescribeAlarmsCommand,
  DisableAlarmActionsCommand,
  EnableAlarmActionsCommand,
} from "@aws-sdk/client-cloudwatch";
import { developerAlarmNames } from "../../naming";
import { chunks } from "./aws";
import type { SleepConfig } from "./config";

/** CloudWatch's DescribeAlarms, DisableAlarmActions and EnableAlarmActions take at most this many names. */
export const MAX_ALARMS_PER_CALL = 100;

/** The full names of the developer's alarms on the fleet's platform. */
export function developerAlarms(config: Pick<SleepConfig, "platform" | "namePrefix">, name: string): string[] {
  const alarms = developerAlarmNames({ name });
  const own =
    config.platform === "ecs"
      ? [alarms.notRunning, alarms.taskCpu, alarms.taskMemory]
      : [alarms.unhealthy, alarms.restarts, alarms.diskShare];
  return own.map((alarm) => `${config.namePrefix}-${alarm}`);
}

/** The name of the developer's idle alarm, whose ALARM puts them to sleep. */
export function idleAlarmName(config: Pick<SleepConfig, "namePrefix">, name: string): string {
  return `${config.namePrefix}-${developerAlarmNames({ name }).idle}`;
}

/** Turns the actions of every alarm of `names` on or off. */
export async function setAlarmActions(cloudwatch: CloudWatchClient, names: readonly string[], enabled: boolean): Promise<void> {
  for (const part of chunks(names, MAX_ALARMS_PER_CALL)) {
    await cloudwatch.send(
      enabled ? new EnableAlarmActionsCommand({ AlarmNames: part }) : new DisableAlarmActionsCommand({ AlarmNames: part }),
    );
  }
}

/** The alarms of `names` that exist and have their actions off. */
export async function alarmsWithActionsOff(cloudwatch: CloudWatchClient, names: readonly string[]): Promise<string[]> {
  const off: string[] = [];
  for (const part of chunks(names, MAX_ALARMS_PER_CALL)) {
    let token: string | undefined;
    do {
      const page = await cloudwatch.send(
        new DescribeAlarmsCommand({ AlarmNames: part, AlarmTypes: ["MetricAlarm", "CompositeAlarm"], NextToken: token }),
      );
      for (const alarm of [...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? [])]) {
        if (alarm.ActionsEnabled === false && alarm.AlarmName) off.push(alarm.AlarmName);
      }
      token = page.NextToken;
    } while (token);
  }
  return off;
}
