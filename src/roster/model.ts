/**
 * The roster's model: the typed, frozen Fleet that every layer and template reads, and the
 * problems that keep a roster from becoming one. Types only; `fleet.ts` builds a Fleet.
 */
import type { FargateSize } from "./fargate";
import type { Architecture } from "./instance-types";
import type { Schedule } from "./schedule";

export interface Developer {
  /** DNS label: subdomain, container name, key of every per-developer resource. */
  readonly name: string;
  /** Host port of the developer's container: a stable slot, never renumbered. */
  readonly port: number;
  /** ALB listener-rule priority, the port unless the roster sets it. */
  readonly priority: number;
  /** `<name>.<domain>`. */
  readonly hostname: string;
  readonly cpus: number;
  readonly cpuLimit: number;
  readonly memoryMiB: number;
  readonly memoryLimitMiB: number;
  /** Every extension to install, the pinned Claude extension first. */
  readonly extensions: readonly string[];
  /** The developer's task size when the ECS platform runs: the smallest that holds their limits. */
  readonly fargate?: FargateSize;
  /** Whom the sign-in gate admits at this developer's URL, when the fleet signs in with OpenID Connect. */
  readonly identity?: Identity;
}

/** One person at the provider: their subject identifier when the roster gives it, else their verified email. */
export type Identity = { readonly sub: string } | { readonly email: string };

/** How developers sign in. */
export type Auth =
  | { readonly type: "password" }
  | {
      readonly type: "oidc";
      /** The provider's issuer identifier, as its discovery document names it. */
      readonly issuer: string;
      readonly clientId: string;
      /** The longest a session lasts, however long the provider's ID token would. @default - the token's own lifetime */
      readonly maxSessionSeconds?: number;
    };

/** Where developers are served. */
export type PlatformKind = "host" | "ecs";

/** The ECS platform's settings. */
export interface EcsSpec {
  readonly architecture: Architecture;
  /** public: a public IPv4 address per task in the public subnets; private: private subnets behind a NAT gateway. */
  readonly network: "public" | "private";
  /** ECS Exec into a developer's task. */
  readonly exec: boolean;
}

/** A move between platforms: the other platform, kept up beside the serving one. */
export type Migration = { readonly prepare: "ecs" } | { readonly keep: "host" };

export type StateBackend =
  { readonly backend: "local" } | { readonly backend: "s3"; readonly bucket: string; readonly key: string; readonly region: string };

export interface HostSpec {
  readonly instanceType: string;
  readonly vcpus: number;
  readonly memoryGiB: number;
  readonly architecture: Architecture;
  /** t3/t3a/t4g: run with unlimited CPU credits so reservations are real. */
  readonly burstable: boolean;
  readonly osHeadroomGiB: number;
}

/**
 * The validated roster. A Fleet comes from `buildFleet` alone, which guarantees what the layers
 * rely on without checking again: developer names, ports and listener-rule priorities unique,
 * priorities within 1..50000, target-group names within ELB's 32 characters, reservations that fit
 * the host, names that no normalisation makes collide.
 */
export interface Fleet {
  readonly project: string;
  readonly environment: string;
  /** `<project>-<environment>`: the prefix of AWS resource names. */
  readonly namePrefix: string;
  readonly region: string;
  /** The host and its data volume live in the first zone; the ALB spans all. */
  readonly availabilityZones: readonly string[];
  readonly domain: string;
  /** Where developers are served. */
  readonly platform: PlatformKind;
  /** The EC2 host, when the host platform runs (it serves, or a migration keeps or prepares beside it). */
  readonly host?: HostSpec;
  /** The ECS platform's settings, when it runs (it serves, or a migration prepares it). */
  readonly ecs?: EcsSpec;
  /** A move between platforms under way; absent otherwise. */
  readonly migration?: Migration;
  readonly codeServer: {
    readonly image: string;
    readonly tag: string;
    readonly claudeExtensionVersion: string;
    readonly extensions: readonly string[];
  };
  readonly developers: readonly Developer[];
  readonly state: StateBackend;
  /** How developers sign in. */
  readonly auth: Auth;
  /** When the host runs (`schedule.ts`); absent: always. */
  readonly schedule?: Schedule;
  /** The optional WAF web ACL on the ALB; off unless the roster switches it on. */
  readonly waf: { readonly enabled: boolean; readonly rateLimitPer5Minutes: number };
}

/** One thing wrong with the roster: where (a path into the YAML) and what to do about it. */
export interface Problem {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** A problem placed in the file. */
export interface LocatedProblem extends Problem {
  readonly line?: number;
}
