export { cheaperChoices, readRawRoster, siblingTypes, type CheaperChoice } from "./choices";
export { billJson, monthlyCost, type Bill, type CostLine, type CostOptions } from "./engine";
export { DEFAULT_ASSUMPTIONS, HOURS_PER_MONTH, inventory, type UsageAssumptions } from "./inventory";
export { loadPrices, pricedRegions, PriceError, type PriceBook } from "./prices";
export { hoursPerWeek, HOURS_PER_WEEK, type CostSchedule, type Weekday } from "./schedule";
