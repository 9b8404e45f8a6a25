/**
 * What the engine must show of a container started from a task definition, as `docker inspect`
 * reports it: the image the rehearsal substitutes under the definition's reference, the argv
 * (entry point and command, as ECS combines them with the image's), and the environment (the
 * image's, then the definition's with Terraform's values resolved, then the secrets). Pure, so
 * that its judgements are tested without an engine; secret values never appear in what it says.
 */
import type { ContainerDefinition } from "./definitions";

/** What an image sets, as `docker image inspect` reports it. */
export interface ImageView {
  readonly Id: string;
  readonly Config: {
    readonly Entrypoint: readonly string[] | null;
    readonly Cmd: readonly string[] | null;
    readonly Env: readonly string[] | null;
  };
}

/** What a container runs, as `docker inspect` reports it. */
export interface LaunchView {
  /** The image's id. */
  readonly Image: string;
  readonly Config: {
    /** The reference it was created from. */
    readonly Image: string;
    readonly Entrypoint: readonly string[] | null;
    readonly Cmd: readonly string[] | null;
    readonly Env: readonly string[] | null;
  };
}

/** The environment ECS gives a container, beyond the image's: plain values and secrets, by name. */
export interface ExpectedEnvironment {
  readonly values: ReadonlyMap<string, string>;
  readonly secrets: ReadonlyMap<string, string>;
}

/** The argv ECS starts: the definition's entry point (or the image's) and its command (or, with neither overridden, the image's). */
export function expectedArgv(def: ContainerDefinition, image: ImageView): string[] {
  if (def.entryPoint?.length) return [...def.entryPoint, ...(def.command ?? [])];
  return [...(image.Config.Entrypoint ?? []), ...(def.command ?? image.Config.Cmd ?? [])];
}

const toMap = (env: readonly string[] | null) =>
  new Map((env ?? []).map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)] as const));

/** How the environment differs: values shown, except any secret's (named only). */
function environmentDeviations(name: string, image: ImageView, info: LaunchView, expected: ExpectedEnvironment): string[] {
  const want = new Map([...toMap(image.Config.Env), ...expected.values]);
  const have = toMap(info.Config.Env);
  const problems: string[] = [];
  for (const [key, value] of want) {
    if (expected.secrets.has(key)) continue;
    if (have.get(key) !== value) problems.push(`${name}: ${key} is ${JSON.stringify(have.get(key))}, defined ${JSON.stringify(value)}`);
  }
  for (const [key, value] of expected.secrets) {
    if (!have.has(key)) problems.push(`${name}: the secret ${key} is not in the environment`);
    else if (have.get(key) !== value) problems.push(`${name}: ${key} is not the value of its secret in Secrets Manager`);
  }
  const extra = [...have.keys()].filter((key) => !want.has(key) && !expected.secrets.has(key));
  if (extra.length) problems.push(`${name}: ${extra.join(", ")} in the environment, which neither the image nor the definition sets`);
  return problems;
}

/**
 * How a container's image, argv and environment differ from its definition. `image` is what the
 * engine holds under the definition's reference (the rehearsal's build of it).
 */
export function launchDeviations(
  name: string,
  def: ContainerDefinition,
  image: ImageView,
  info: LaunchView,
  expected: ExpectedEnvironment,
): string[] {
  const problems: string[] = [];
  if (info.Config.Image !== def.image) problems.push(`${name}: image ${info.Config.Image}, defined ${def.image}`);
  if (info.Image !== image.Id) problems.push(`${name}: runs image ${info.Image}, not ${image.Id}, which the engine holds as ${def.image}`);
  const argv = [...(info.Config.Entrypoint ?? []), ...(info.Config.Cmd ?? [])];
  const want = expectedArgv(def, image);
  const at = [...Array(Math.max(argv.length, want.length)).keys()].find((i) => argv[i] !== want[i]);
  if (at !== undefined) {
    const word = (w: string | undefined) => (w === undefined ? "nothing" : JSON.stringify(w.length > 120 ? `${w.slice(0, 120)}...` : w));
    problems.push(`${name}: argument ${at} of what it runs is ${word(argv[at])}, defined ${word(want[at])}`);
  }
  return [...problems, ...environmentDeviations(name, image, info, expected)];
}
