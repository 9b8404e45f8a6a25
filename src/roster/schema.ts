/**
 * The shape of `roster.yaml`, as a zod schema. Field-level rules live here (types, ranges,
 * formats, unknown keys); rules that look across fields (duplicates, capacity) live in
 * `fleet.ts`. Every field is documented in docs/roster-reference.md (a test holds it to this schema).
 */
import { z } from "zod";
import type { Parts } from "./parts";
import { systemProjectNameProblem } from "./project-names";
import { TIME_OF_DAY } from "./schedule";
import { AWS_REGION, REGION_MESSAGE, bucketNameProblem, stateKeyProblem } from "./state-backend";

// Defined beside the time maths that reads it, which the sleep Lambdas bundle without zod.
export { TIME_OF_DAY };
/** A DNS label in lower case: it becomes a subdomain, a container name and part of AWS names. */
export const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** A DNS name of two or more lower-case labels, the last (the TLD) starting with a letter. */
export const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** An Open VSX extension id, `publisher.name`, optionally pinned with `@version`. */
export const EXTENSION_ID = /^[a-z0-9][a-z0-9-]*\.[a-z0-9][a-z0-9-]*(@[0-9][0-9A-Za-z.+-]*)?$/i;
/**
 * Open VSX refuses a namespace (publisher) or an extension name longer than 255 characters; the
 * version is held to the same. So no id is longer than three such parts and their separators.
 */
export const MAX_EXTENSION_PART = 255;
const MAX_EXTENSION_SPEC = 3 * MAX_EXTENSION_PART + 2;
/** Longest project name: it prefixes AWS names with tight length limits. */
const MAX_PROJECT = 16;
/** A docker image tag (docker's own grammar). */
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** A docker repository name such as `codercom/code-server` or `ghcr.io/coder/code-server`. */
const IMAGE_REPOSITORY = /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;
/** Requests from one IP address in 5 minutes before the WAF blocks it: AWS's bounds, and ours by default. */
export const WAF_RATE_LIMIT = { min: 100, max: 2_000_000_000, default: 3000 } as const;
const SEMVER_LIKE = /^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$/;
const SHORT_NAME = /^[a-z][a-z0-9-]*[a-z0-9]$/;

/**
 * Minutes without activity before a developer's environment sleeps: 0 never, else 5 to 1440. The
 * idle alarm counts one-minute periods, and CloudWatch evaluates at most a day of them.
 */
export const IDLE_MINUTES = { min: 5, max: 1440, default: 120 } as const;

/** `field`'s idle time: 0 (never), or whole minutes in IDLE_MINUTES' range (a wrong type is described in schema-problems.ts). */
const idleMinutes = (field: string, never: string) =>
  z
    .number()
    .int()
    .refine((minutes) => minutes === 0 || (minutes >= IDLE_MINUTES.min && minutes <= IDLE_MINUTES.max), {
      message: `${field} must be 0 (${never}) or a whole number of minutes from ${IDLE_MINUTES.min} to ${IDLE_MINUTES.max} (a day, the longest CloudWatch evaluates)`,
    });

const label = (what: string) =>
  z.string().regex(DNS_LABEL, {
    message: `${what} must be a DNS label: 1-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit (no upper case, no '_')`,
  });

const resources = {
  /** CPU reservation in vCPUs (compose `deploy.resources.reservations.cpus`). */
  cpus: z.number().positive().max(192),
  /** CPU limit in vCPUs (compose `cpus`). */
  cpuLimit: z.number().positive().max(192),
  /** Memory reservation in GiB (compose `mem_reservation`). */
  memoryGiB: z.number().positive().max(1024),
  /** Memory limit in GiB (compose `mem_limit`). */
  memoryLimitGiB: z.number().positive().max(1024),
};

/** A refinement by a rule that says why a value breaks it; `field`, if given, starts the message. */
const rule =
  (problem: (value: string) => string | undefined, field?: string) =>
  (value: string, ctx: z.RefinementCtx<string>): void => {
    const found = problem(value);
    if (found) ctx.addIssue({ code: "custom", message: field ? `${field} ${found}` : found });
  };

const extensionList = z.array(
  z
    .string()
    .max(MAX_EXTENSION_SPEC, {
      message: `extension ids are at most ${MAX_EXTENSION_SPEC} characters: publisher, name and version at most ${MAX_EXTENSION_PART} each (Open VSX's limit)`,
      abort: true,
    })
    .regex(EXTENSION_ID, { message: "extension ids are 'publisher.name' or 'publisher.name@version'" })
    .refine((spec) => !EXTENSION_ID.test(spec) || spec.split(/[.@]/).every((part) => part.length <= MAX_EXTENSION_PART), {
      message: `an extension id's publisher, name and version are at most ${MAX_EXTENSION_PART} characters each (Open VSX's limit)`,
    }),
);

export const developerSchema = z.strictObject({
  name: label("a developer name"),
  port: z
    .number()
    .int({ message: "port must be a whole number" })
    .min(1024, { message: "port must be 1024..65535 (ports below 1024 are privileged on the host)" })
    .max(65535, { message: "port must be 1024..65535" }),
  /** ALB listener-rule priority; defaults to the port, so it is as stable as the port. */
  priority: z.number().int().min(1).max(50000).optional(),
  cpus: resources.cpus.optional(),
  cpuLimit: resources.cpuLimit.optional(),
  memoryGiB: resources.memoryGiB.optional(),
  memoryLimitGiB: resources.memoryLimitGiB.optional(),
  /** Extensions installed for this developer in addition to `codeServer.extensions`. */
  extensions: extensionList.optional(),
  /** This developer's idle time before sleeping (`sleepSchema`), instead of the team's. */
  idleMinutes: idleMinutes("idleMinutes", "this developer never sleeps").optional(),
  /** With `auth.type: oidc`: the verified email address the provider reports for this developer. */
  email: z.email({ message: "email must be an email address, e.g. alice@example.com" }).max(254).optional(),
  /** With `auth.type: oidc`: the provider's subject identifier (`sub`) of this developer; it wins over email. */
  sub: z
    .string()
    .min(1, { message: "sub must be the provider's subject identifier of the developer, not empty" })
    .max(255, { message: "sub must be at most 255 characters (OpenID Connect's limit)" })
    .optional(),
});

/** The EC2 host: its type, and its size when the type is missing from the built-in table. */
export const hostSchema = z.strictObject(
  {
    instanceType: z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, {
      message: "instanceType must look like t3.2xlarge",
    }),
    /** vCPUs of an instance type missing from the built-in table. */
    vcpus: z.number().int().positive().optional(),
    /** Memory in GiB of an instance type missing from the built-in table. */
    memoryGiB: z.number().positive().optional(),
    /** Memory kept free for the OS, Docker and agents when checking that reservations fit. */
    osHeadroomGiB: z.number().min(0).default(2),
  },
  { message: "host must be a mapping with at least instanceType (e.g. t3.2xlarge)" },
);

/** Where developers are served: one EC2 host running a container each, or an ECS Fargate service each. */
export const PLATFORMS = ["host", "ecs"] as const;

/** The ECS platform's settings (they matter only when it runs). */
export const ecsSchema = z.strictObject({
  /** The CPU architecture of the developers' tasks (Graviton is arm64). */
  architecture: z.enum(["x86_64", "arm64"], { message: "ecs.architecture must be x86_64 or arm64" }).default("x86_64"),
  /**
   * public: each task gets a public IPv4 address in a public subnet; private: tasks in private
   * subnets reach the internet through one NAT gateway.
   */
  network: z.enum(["public", "private"], { message: "ecs.network must be public or private" }).default("public"),
  /** ECS Exec into a developer's task (a logged shell), off unless switched on. */
  exec: z.boolean({ message: "ecs.exec must be true or false (unquoted)" }).default(false),
});

/**
 * A move between platforms, for as long as it takes: `prepare: ecs` builds ECS beside the serving
 * host; `keep: host` keeps the host beside the serving ECS, until a later edit retires it on purpose.
 */
export const migrationSchema = z.strictObject({
  prepare: z.literal("ecs", { message: "migration.prepare can only be ecs (with platform: host)" }).optional(),
  keep: z.literal("host", { message: "migration.keep can only be host (with platform: ecs)" }).optional(),
});

/** The longest a sign-in session may last, in hours: 30 days. */
export const MAX_SESSION_HOURS = 720;

/**
 * How developers sign in: code-server's own password (one per developer, in Secrets Manager), or
 * the company's OpenID Connect provider through the sign-in gate in front of each code-server.
 */
export const authSchema = z.discriminatedUnion(
  "type",
  [
    z.strictObject({ type: z.literal("password") }),
    z.strictObject({
      type: z.literal("oidc"),
      issuer: z
        .string({ message: "auth.issuer is required with type oidc: the provider's issuer URL, e.g. https://login.example.com" })
        .refine((text) => URL.canParse(text) && new URL(text).protocol === "https:", {
          message: "auth.issuer must be an https:// URL: the provider's issuer identifier, e.g. https://login.example.com",
        })
        .refine((text) => !URL.canParse(text) || (!new URL(text).search && !new URL(text).hash), {
          message: "auth.issuer must have no query or fragment: write the issuer exactly as the provider's discovery document names it",
        }),
      clientId: z
        .string({ message: "auth.clientId is required with type oidc: the client id registered at the provider" })
        .trim()
        .min(1, { message: "auth.clientId must not be empty: the client id registered at the provider" }),
      maxSessionHours: z
        .number({ message: "auth.maxSessionHours must be a number of hours, e.g. 12" })
        // In whole seconds as src/roster/auth.ts rounds it: the gate and the wake refuse a session under a minute.
        .refine((hours) => Math.round(hours * 3600) >= 60, {
          message: "auth.maxSessionHours must be at least one minute (0.02 hours; the gate refuses shorter sessions), e.g. 12",
        })
        .max(MAX_SESSION_HOURS, { message: `auth.maxSessionHours must be at most ${MAX_SESSION_HOURS} (30 days)` })
        .optional(),
    }),
  ],
  { message: "auth.type must be password or oidc" },
);

/** The code-server image every developer runs and the extensions installed for everyone. */
export const codeServerSchema = z.strictObject({
  image: z.string().regex(IMAGE_REPOSITORY, { message: "image must be a docker repository name" }).default("codercom/code-server"),
  // Pinned, never `latest`; change it to roll the fleet to a new release.
  tag: z
    .string()
    .regex(IMAGE_TAG, { message: "tag must be a docker image tag" })
    .refine((t) => t !== "latest", { message: "tag must be pinned to a release (e.g. 4.102.2), never 'latest'" })
    .default("4.102.2"),
  claudeExtensionVersion: z
    .string()
    .regex(SEMVER_LIKE, { message: "claudeExtensionVersion must be an exact version such as 2.1.121" })
    .default("2.1.121"),
  extensions: extensionList.default(() => ["ms-python.python", "golang.go", "dbaeumer.vscode-eslint"]),
});

/** Each developer's CPU and memory, unless the developer sets their own. */
export const developerDefaultsSchema = z.strictObject({
  cpus: resources.cpus.default(1),
  cpuLimit: resources.cpuLimit.default(1.5),
  memoryGiB: resources.memoryGiB.default(3),
  memoryLimitGiB: resources.memoryLimitGiB.default(4),
});

/**
 * When the developers' environments run (the host, or each developer's ECS service); without it
 * they run around the clock. Time zone, day names and stop-after-start are checked in
 * `schedule.ts`, where the messages can suggest the fix.
 */
export const scheduleSchema = z.strictObject({
  timezone: z.string({ message: "schedule.timezone is required: the IANA time zone of start and stop, e.g. Asia/Bangkok" }),
  days: z
    .array(z.string(), { message: "schedule.days is required: the days the host runs, e.g. [mon, tue, wed, thu, fri]" })
    .min(1, { message: "schedule.days is empty: list the days the host runs, e.g. [mon, tue, wed, thu, fri]" }),
  start: z
    .string({ message: 'schedule.start is required: when the host starts, HH:MM, e.g. "08:00"' })
    .regex(TIME_OF_DAY, { message: 'schedule.start must be a time of day HH:MM from 00:00 to 23:59, e.g. "08:00"' }),
  stop: z
    .string({ message: 'schedule.stop is required: when the host stops, HH:MM, e.g. "20:00"' })
    .regex(TIME_OF_DAY, { message: 'schedule.stop must be a time of day HH:MM from 00:00 to 23:59, e.g. "20:00"' }),
});

/**
 * Sleep when idle: each developer's environment stops after `idleMinutes` without activity and
 * starts again when they open their URL. Absent, nothing sleeps.
 */
export const sleepSchema = z.strictObject({
  /** The team's idle time; a developer's own `idleMinutes` wins. */
  idleMinutes: idleMinutes("sleep.idleMinutes", "nobody sleeps unless their own idleMinutes says so").default(IDLE_MINUTES.default),
  /** Whether opening a sleeping developer's URL outside the schedule's hours wakes them. */
  wakeOutsideHours: z.boolean().default(false),
});

export const rosterSchema = z.strictObject({
  project: z
    .string()
    .regex(SHORT_NAME, { message: "project must be lower-case letters, digits and '-', starting with a letter" })
    .max(MAX_PROJECT, { message: `project must be at most ${MAX_PROJECT} characters (it prefixes AWS names with tight length limits)` })
    .superRefine(rule((project) => systemProjectNameProblem(project, MAX_PROJECT)))
    .default("code-server"),
  environment: z
    .string()
    .regex(SHORT_NAME, { message: "environment must be lower-case letters, digits and '-', starting with a letter" })
    .max(10, { message: "environment must be at most 10 characters" })
    .default("dev"),
  region: z
    .string()
    .regex(AWS_REGION, { message: `region ${REGION_MESSAGE}` })
    .default("ap-southeast-7"),
  /** Two or more zones of `region`; the host lives in the first, the ALB spans all. */
  availabilityZones: z.array(z.string()).optional(),
  domain: z.string({ message: "domain is required: the DNS zone developers are reached under, e.g. dev.example.com" }).regex(DNS_NAME, {
    message: "domain must be a DNS name: lower-case labels of a-z, 0-9 and '-' separated by dots, e.g. dev.example.com",
  }),
  /** Where developers are served (`PLATFORMS`). */
  platform: z.enum(PLATFORMS, { message: "platform must be host or ecs" }).default("host"),
  /** Required when the host runs: platform host, or a migration that keeps or prepares beside it. */
  host: hostSchema.optional(),
  ecs: ecsSchema.prefault({}),
  migration: migrationSchema.optional(),
  // An absent section is parsed as `{}`, so the field defaults are its defaults.
  codeServer: codeServerSchema.prefault({}),
  developerDefaults: developerDefaultsSchema.prefault({}),
  developers: z.array(developerSchema, { message: "developers is required: a list of {name, port} entries" }).min(1, {
    message: "developers is empty: list at least one developer ({name, port})",
  }),
  /** How developers sign in (`authSchema`); code-server's password unless the roster says oidc. */
  auth: authSchema.default({ type: "password" }),
  /** When the host runs (`scheduleSchema`); absent, it runs around the clock. */
  schedule: scheduleSchema.optional(),
  /** Sleep when idle (`sleepSchema`); absent, every environment runs while its host or schedule does. */
  sleep: sleepSchema.optional(),
  /** An AWS WAF web ACL in front of the ALB: AWS's common rule set and a per-IP rate limit. */
  waf: z
    .strictObject({
      enabled: z.boolean({ message: "waf.enabled must be true or false (unquoted)" }).default(false),
      rateLimitPer5Minutes: z
        .number({ message: "waf.rateLimitPer5Minutes must be a number of requests, e.g. 3000" })
        .int({ message: "waf.rateLimitPer5Minutes must be a whole number of requests" })
        .min(WAF_RATE_LIMIT.min, {
          message: `waf.rateLimitPer5Minutes must be at least ${WAF_RATE_LIMIT.min} (AWS WAF's lower bound for a rate-based rule); code-server's page load alone sends a few hundred requests`,
        })
        .max(WAF_RATE_LIMIT.max, { message: `waf.rateLimitPer5Minutes must be at most ${WAF_RATE_LIMIT.max} (AWS WAF's upper bound)` })
        .default(WAF_RATE_LIMIT.default),
    })
    .prefault({}),
  state: z
    .discriminatedUnion(
      "backend",
      [
        z.strictObject({ backend: z.literal("local") }),
        z.strictObject({
          backend: z.literal("s3"),
          bucket: z.string().superRefine(rule(bucketNameProblem, "state.bucket")),
          key: z.string().superRefine(rule(stateKeyProblem, "state.key")).optional(),
          region: z
            .string()
            .regex(AWS_REGION, { message: `state.region ${REGION_MESSAGE}` })
            .optional(),
        }),
      ],
      { message: "state.backend must be 'local' or 's3'" },
    )
    .default({ backend: "local" }),
});

export type RawRoster = z.infer<typeof rosterSchema>;

/** The roster field by field (`parts.ts`), for the rules that look across fields. */
export type DeveloperParts = Parts<typeof developerSchema.shape>;

export interface RosterParts {
  /** Each top-level field whole: `host` is valid only when all of it is. */
  readonly top: Parts<typeof rosterSchema.shape>;
  readonly codeServer: Parts<typeof codeServerSchema.shape>;
  readonly developerDefaults: Parts<typeof developerDefaultsSchema.shape>;
  /** One per list item (none when `developers` is no list). */
  readonly developers: readonly DeveloperParts[];
  /** Absent when the roster has no schedule. */
  readonly schedule?: Parts<typeof scheduleSchema.shape>;
}

/**
 * The keys the schema allows in the object at `path` (a list index steps into the list's items),
 * in schema order: the vocabulary of "did you mean" for an unknown key there. Derived, so a new
 * field is suggested without more code. In a union (the state backends) they are the keys of the
 * variants whose literal fields (`backend: s3`) `data`, the roster as read, matches; without
 * `data`, or when it matches none, of every variant.
 */
export function keysAt(schema: z.ZodType, path: readonly (string | number)[], data?: unknown): string[] {
  return [...new Set(objectsAt(schema, path, data).flatMap((object) => Object.keys(object.shape)))];
}

const field = (value: unknown, key: string | number): unknown =>
  value !== null && typeof value === "object" && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;

function objectsAt(schema: z.ZodType, path: readonly (string | number)[], data: unknown): z.ZodObject[] {
  let node = schema;
  while (node instanceof z.ZodOptional || node instanceof z.ZodDefault || node instanceof z.ZodPrefault) node = node.unwrap() as z.ZodType;
  if (node instanceof z.ZodUnion) {
    const options = node.options as readonly z.ZodType[];
    const matching = options.filter((option) => literalsMatch(option, data));
    return (matching.length > 0 ? matching : options).flatMap((option) => objectsAt(option, path, data));
  }
  if (path.length === 0) return node instanceof z.ZodObject ? [node] : [];
  const [head, ...rest] = path;
  if (typeof head === "number") return node instanceof z.ZodArray ? objectsAt(node.element as z.ZodType, rest, field(data, head)) : [];
  const shape = node instanceof z.ZodObject ? (node.shape as Record<string, z.ZodType>) : {};
  return Object.hasOwn(shape, head) ? objectsAt(shape[head], rest, field(data, head)) : [];
}

/** The fields that tell a union's variants apart at `path` (`backend` for `state`), if it holds a union. */
export function variantFieldsAt(schema: z.ZodType, path: readonly (string | number)[]): string[] {
  const objects = objectsAt(schema, path, undefined);
  const literal = (object: z.ZodObject, key: string) => (object.shape as Record<string, z.ZodType>)[key] instanceof z.ZodLiteral;
  return objects.length < 2 ? [] : Object.keys(objects[0].shape).filter((key) => objects.every((object) => literal(object, key)));
}

/** Whether `data` has the value of every literal field of `option` (a variant of a union). */
function literalsMatch(option: z.ZodType, data: unknown): boolean {
  if (!(option instanceof z.ZodObject) || data === undefined) return false;
  const literals = Object.entries(option.shape as Record<string, z.ZodType>).filter(([, schema]) => schema instanceof z.ZodLiteral);
  return literals.every(([key, schema]) => schema.safeParse(field(data, key)).success);
}
