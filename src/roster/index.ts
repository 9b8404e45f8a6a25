export * from "./fleet";
export * from "./load";
export { INSTANCE_TYPES, type Architecture, type InstanceTypeInfo } from "./instance-types";
