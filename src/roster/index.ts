export * from "./fleet";
export * from "./load";
export { INSTANCE_TYPES, type Architecture, type InstanceTypeInfo } from "./instance-types";
export { MIN_RUN_MINUTES, WEEKDAYS, minutesOfDay, scheduledHoursPerWeek, timeOfDay, type Schedule, type Weekday } from "./schedule";
