/** Every check, in the order they run: each list builds on the state the previous ones left. */
import type { Check } from "./check";
import { DAY_TWO } from "./day-two";
import { FIRST_BOOT } from "./first-boot";
import { LOGIN } from "./login";
import { PROVISIONING } from "./provisioning";
import { ROUTING } from "./routing";

export const CHECKS: readonly Check[] = [...PROVISIONING, ...FIRST_BOOT, ...ROUTING, ...LOGIN, ...DAY_TWO];
