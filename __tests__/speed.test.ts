/**
 * The synth's shortcuts around cdktf (src/speed.ts) change how fast, never what: whole stacks and
 * every kind of value cdktf resolves come out the same as through cdktf's own resolve. And the
 * documents written as JSON text with references (jsonWithReferences) refuse what Terraform would
 * read as its own.
 */
import { App, DefaultTokenResolver, Fn, Lazy, StringConcat, TerraformStack, TerraformVariable, Token, Tokenization } from "cdktf";
import { parse, stringify } from "yaml";
import { jsonWithReferences } from "../src/constructs/expressions";
import { parseRoster } from "../src/roster";
import { withCdktfResolve } from "../src/resolve-plain";
import { ecsOidcRosterText, withOidc } from "./helpers/ecs-oidc";
import { DEFAULT_ROSTER_TEXT, generatedRosterText } from "./helpers/fleet";
import { synthStack } from "./helpers/synth";

/** `rosterText` with every developer sleeping after an hour idle. */
function sleeping(rosterText: string): string {
  return stringify({ ...(parse(rosterText) as object), sleep: { idleMinutes: 60 } });
}

function onEcs(rosterText: string): string {
  const roster = parse(rosterText) as Record<string, unknown>;
  delete roster.host;
  return stringify({ ...roster, platform: "ecs", ecs: { exec: true } });
}

describe("a whole stack comes out as cdktf's own resolve writes it", () => {
  const rosters: [string, string][] = [
    ["the default roster", DEFAULT_ROSTER_TEXT],
    ["the host, signing in with OpenID Connect, sleeping when idle", sleeping(withOidc(DEFAULT_ROSTER_TEXT))],
    ["ECS with ECS Exec", onEcs(DEFAULT_ROSTER_TEXT)],
    ["ECS, signing in with OpenID Connect, sleeping when idle", sleeping(ecsOidcRosterText())],
    ["30 developers on ECS", onEcs(generatedRosterText(30))],
  ];
  it.each(rosters)("%s", (_, text) => {
    const fleet = parseRoster(text);
    const fast = JSON.stringify(synthStack(fleet));
    expect(fast).toBe(JSON.stringify(withCdktfResolve(() => synthStack(fleet))));
  });
});

describe("each kind of value resolves as through cdktf's own resolve", () => {
  const stack = new TerraformStack(new App(), "values");
  const variable = new TerraformVariable(stack, "count", { type: "number" });
  const names = new TerraformVariable(stack, "names", { type: "list(string)" });
  const tags = new TerraformVariable(stack, "tags", { type: "map(string)" });
  const resolveBoth = (value: unknown) => {
    const resolve = () => Tokenization.resolve(value, { scope: stack, resolver: new DefaultTokenResolver(new StringConcat()) }) as unknown;
    return { fast: resolve(), cdktf: withCdktfResolve(resolve) };
  };
  const values: [string, unknown][] = [
    ["plain strings, numbers, booleans, null and dates", { a: "text", b: 1.5, c: true, d: null, e: new Date(0), f: "1e5 and 2.5e-3" }],
    ["undefined members and elements, dropped", { a: undefined, b: [1, undefined, 2], c: { d: undefined } }],
    ["a reference alone and inside text", { a: variable.stringValue, b: `count is ${variable.stringValue}!` }],
    [
      "several references inside a long JSON text",
      JSON.stringify({ a: variable.stringValue, b: [names.stringValue, "}{", variable.stringValue] }),
    ],
    ["a literal ${ beside a reference (cdktf's escape)", `\${literal} then ${variable.stringValue} and }`],
    [
      "a number token, alone and written into text",
      { a: variable.numberValue, b: `n=${variable.numberValue}`, c: `${Token.asString(variable.numberValue)}` },
    ],
    ["a list token and a map token", { a: names.listValue, b: tags.value as unknown, c: Token.asStringMap(tags.value) }],
    ["a token as a key", { [Lazy.stringValue({ produce: () => "computed-key" })]: 1 }],
    ["a function call over an object with references", Fn.jsonencode({ a: [variable.stringValue, { b: names.listValue }] })],
    ["resolvables nested in plain objects", { a: [{ b: Lazy.anyValue({ produce: () => ({ c: variable.stringValue, d: undefined }) }) }] }],
  ];
  it.each(values)("%s", (_, value) => {
    const { fast, cdktf } = resolveBoth(value);
    expect(fast).toEqual(cdktf);
    expect(JSON.stringify(fast)).toBe(JSON.stringify(cdktf));
  });

  it.each<[string, unknown]>([
    ["a function", { a: () => 1 }],
    ["a map token's placeholder in a scalar place", { a: Token.STRING_MAP_TOKEN_VALUE }],
    ["a list token inside text", { a: `names: ${names.listValue as unknown as string}` }],
  ])("refuses %s with cdktf's own error", (_, value) => {
    const fails = (resolve: () => unknown) => {
      try {
        resolve();
      } catch (err) {
        return (err as Error).message;
      }
      return "resolved";
    };
    const resolve = () => Tokenization.resolve(value, { scope: stack, resolver: new DefaultTokenResolver(new StringConcat()) });
    const message = fails(resolve);
    expect(message).not.toBe("resolved");
    expect(message).toBe(withCdktfResolve(() => fails(resolve)));
  });
});

describe("documents written as JSON text with references", () => {
  const stack = new TerraformStack(new App(), "documents");
  const arn = new TerraformVariable(stack, "arn", { type: "string" }).stringValue;
  const resolved = (text: string) =>
    Tokenization.resolve(text, { scope: stack, resolver: new DefaultTokenResolver(new StringConcat()) }) as string;

  it("carry references as interpolations Terraform fills in", () => {
    expect(resolved(jsonWithReferences("a policy", { Resource: arn }))).toBe('{"Resource":"${var.arn}"}');
  });

  it.each(["${aws:username}", "%{if true}"])("refuse a %s of their own, naming the document", (own) => {
    expect(() => jsonWithReferences("the task role policy of dev1", { Resource: [arn, `arn:aws:s3:::bucket/${own}`] })).toThrow(
      `the task role policy of dev1 holds "${own.slice(0, 2)}" of its own, which Terraform would read as a template sequence: write it with Fn.jsonencode`,
    );
  });
});
