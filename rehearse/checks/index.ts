/** Every check, in the order they run: each list builds on the state the previous ones left. */
import type { Check } from "./check";
import { DAY_TWO } from "./day-two";
import { ECS } from "./ecs";
import { FAULTS } from "./faults";
import { FIRST_BOOT } from "./first-boot";
import { AFTER_LOGIN, BEFORE_LOGIN } from "./hardening";
import { LOGIN } from "./login";
import { HOST_AND_PROXY, PROVISIONING } from "./provisioning";
import { ROUTING } from "./routing";
import { SIGN_IN } from "./sign-in";
import { SLEEP } from "./sleep";
import { UPGRADE } from "./upgrade";

export const CHECKS: readonly Check[] = [
  ...PROVISIONING,
  // On a host of its own, before the main host exists.
  ...UPGRADE,
  // On a host of its own too: the roster switched to sign-in through an identity provider, and back.
  ...SIGN_IN,
  // On a host of its own too: developers sleep when idle and wake when their URL is opened.
  ...SLEEP,
  ...HOST_AND_PROXY,
  ...FIRST_BOOT,
  ...ROUTING,
  ...BEFORE_LOGIN,
  ...LOGIN,
  ...AFTER_LOGIN,
  ...DAY_TWO,
  // The ECS platform's task definitions on the same engine, beside the host's containers, which it leaves as it found them.
  ...ECS,
  // Last: each fault breaks something on purpose and checks what held, on the host day two left.
  ...FAULTS,
];
