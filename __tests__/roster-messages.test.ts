/**
 * Roster messages for the mistakes YAML makes easy: merge keys, tabs, quoted numbers, versions
 * read as numbers, a "v" on the image tag, one extension spelled two ways, and a bad default
 * reported once at its own line. Each problem names its line, the field and what to write.
 */
import { parseRoster } from "../src/roster";
import { problemsOf } from "./helpers/fleet";

const HEAD = "domain: dev.example.com\nhost: { instanceType: t3.2xlarge }\n";

/** The 1-based line of the first line of `text` that contains `needle`. */
const lineOf = (text: string, needle: string) => text.split("\n").findIndex((l) => l.includes(needle)) + 1;

describe("YAML merge keys", () => {
  it("merges an anchored developer into another, the later keys winning", () => {
    const text = `${HEAD}developers:\n  - &big { name: dev1, port: 8443, cpus: 2, cpuLimit: 2, memoryGiB: 6, memoryLimitGiB: 8 }\n  - { <<: *big, name: dev2, port: 8444 }\n`;
    const [dev1, dev2] = parseRoster(text).developers;
    expect(dev2).toMatchObject({ name: "dev2", port: 8444, cpus: 2, memoryMiB: 6144, memoryLimitMiB: 8192 });
    expect(dev1.name).toBe("dev1");
  });

  it("says what a merge key takes when its value is not a mapping, at its line", () => {
    const text = `${HEAD}developers:\n  - { name: dev1, port: 8443 }\n  - { <<: 5, name: dev2, port: 8444 }\n`;
    expect(problemsOf(text)).toEqual([
      `${lineOf(text, "<<")}||a merge key (<<) takes a mapping, or an alias of a mapping defined earlier with an anchor: e.g. <<: *defaults after &defaults { cpus: 2 }`,
    ]);
  });

  it("names an alias whose anchor does not exist, once", () => {
    const text = `${HEAD}developers:\n  - { <<: *sizes, name: dev1, port: 8443 }\n`;
    expect(problemsOf(text)).toEqual([`${lineOf(text, "*sizes")}||the alias *sizes names no anchor: define &sizes on an earlier value`]);
  });
});

describe("YAML syntax", () => {
  it("explains a tab used for indentation instead of ending in a bare 'column 1:'", () => {
    const text = "domain: dev.example.com\nhost:\n\tinstanceType: t3.2xlarge\ndevelopers: []\n";
    const [problem] = problemsOf(text);
    expect(problem).toBe("3||YAML syntax error: a tab is used for indentation; YAML allows only spaces: indent with spaces");
    expect(problem).not.toMatch(/column \d+:$/);
  });

  it("keeps the column but not yaml's dangling 'at line, column:' tail for other syntax errors", () => {
    const [problem] = problemsOf("domain: dev.example.com\nhost:\n  instanceType: [t3.large\ndevelopers: []\n");
    expect(problem).toMatch(/^\d+\|\|YAML syntax error \(column \d+\): \S/);
    expect(problem).not.toMatch(/:$/);
  });
});

describe("values YAML reads as another type", () => {
  it('asks to drop the quotes from port: "8444", in our words rather than zod\'s', () => {
    const text = `${HEAD}developers:\n  - { name: dev1, port: 8443 }\n  - name: dev2\n    port: "8444"\n`;
    expect(problemsOf(text)).toEqual([
      `${lineOf(text, '"8444"')}|developers.1.port|port must be a number, but "8444" is in quotes, so YAML reads it as text: drop the quotes (port: 8444)`,
    ]);
    expect(problemsOf(text).join("\n")).not.toMatch(/expected number, received string/);
  });

  it("explains that tag: 4.110 is read as the number 4.11 and suggests quoting it as written", () => {
    const text = `${HEAD}codeServer:\n  tag: 4.110\ndevelopers:\n  - { name: dev1, port: 8443 }\n`;
    expect(problemsOf(text)).toEqual([
      `${lineOf(text, "4.110")}|codeServer.tag|tag must be text, but YAML reads 4.110 as the number 4.11: put it in quotes (tag: "4.110")`,
    ]);
  });

  it("accepts the same tag quoted", () => {
    const text = `${HEAD}codeServer:\n  tag: "4.110"\ndevelopers:\n  - { name: dev1, port: 8443 }\n`;
    expect(parseRoster(text).codeServer.tag).toBe("4.110");
  });

  it("says a key with no value is empty", () => {
    const text = `${HEAD}codeServer:\n  tag:\ndevelopers:\n  - { name: dev1, port: 8443 }\n`;
    expect(problemsOf(text)).toEqual([
      `${lineOf(text, "tag:")}|codeServer.tag|tag is empty (YAML reads a key with nothing after it as null): give it a value`,
    ]);
  });
});

describe("image tags and extension ids", () => {
  it("refuses a v-prefixed tag of the official image, which publishes none, naming the tag to write", () => {
    const text = `${HEAD}codeServer:\n  tag: v4.102.2\ndevelopers:\n  - { name: dev1, port: 8443 }\n`;
    expect(problemsOf(text)).toEqual([
      `${lineOf(text, "v4.102.2")}|codeServer.tag|codercom/code-server publishes its releases without a "v" (e.g. 4.102.2): tag "v4.102.2" does not exist, write "4.102.2"`,
    ]);
  });

  it("accepts a v-prefixed tag of another image, whose conventions are its own", () => {
    const text = `${HEAD}codeServer:\n  image: registry.example.com/tools/code-server\n  tag: v4.102.2\ndevelopers:\n  - { name: dev1, port: 8443 }\n`;
    expect(parseRoster(text).codeServer.tag).toBe("v4.102.2");
  });

  it("refuses one extension spelled two ways in the fleet's list", () => {
    const text = `${HEAD}codeServer:\n  extensions:\n    - golang.go\n    - GoLang.Go\ndevelopers:\n  - { name: dev1, port: 8443 }\n`;
    expect(problemsOf(text)).toEqual([
      `${lineOf(text, "GoLang.Go")}|codeServer.extensions.1|"GoLang.Go" is the same extension as "golang.go" in codeServer.extensions[0] (extension ids ignore case): write it one way, "golang.go"`,
    ]);
  });

  it("refuses a developer's re-pin spelled differently from the fleet's id, but accepts one spelled the same", () => {
    const text = (id: string) =>
      `${HEAD}codeServer:\n  extensions: [golang.go]\ndevelopers:\n  - name: dev1\n    port: 8443\n    extensions:\n      - ${id}@0.40.0\n`;
    expect(problemsOf(text("GoLang.Go"))).toEqual([
      `${lineOf(text("GoLang.Go"), "GoLang.Go@")}|developers.0.extensions.0|"GoLang.Go" is the same extension as "golang.go" in codeServer.extensions[0] (extension ids ignore case): write it one way, "golang.go"`,
    ]);
    expect(parseRoster(text("golang.go")).developers[0].extensions).toContain("golang.go@0.40.0");
  });

  it("refuses the same extension listed twice in one list", () => {
    const text = `${HEAD}developers:\n  - { name: dev1, port: 8443, extensions: [rust-lang.rust-analyzer, rust-lang.rust-analyzer@0.3.1] }\n`;
    expect(problemsOf(text)).toEqual([
      `${lineOf(text, "rust-lang")}|developers.0.extensions.1|"rust-lang.rust-analyzer" is listed twice in developers.0.extensions: list it once`,
    ]);
  });
});

describe("developerDefaults", () => {
  const team = "developers:\n  - { name: dev1, port: 8443 }\n  - { name: dev2, port: 8444 }\n  - { name: dev3, port: 8445 }\n";

  it("reports a limit below its reservation once, at the default's own line", () => {
    const text = `${HEAD}developerDefaults:\n  cpus: 1\n  cpuLimit: 0.5\n${team}`;
    expect(problemsOf(text)).toEqual([
      `${lineOf(text, "cpuLimit")}|developerDefaults.cpuLimit|cpuLimit 0.5 is below the cpu reservation (cpus: 1) that every developer inherits with it`,
    ]);
  });

  it("reports a limit larger than the host once, at the default's own line", () => {
    const text = `${HEAD}developerDefaults:\n  memoryLimitGiB: 64\n${team}`;
    expect(problemsOf(text)).toEqual([
      `${lineOf(text, "memoryLimitGiB")}|developerDefaults.memoryLimitGiB|memoryLimitGiB 64 GiB exceeds the whole host t3.2xlarge (32 GiB): lower it or choose a larger host.instanceType`,
    ]);
  });

  it("still reports a developer's own bad value at the developer", () => {
    const text = `${HEAD}developers:\n  - { name: dev1, port: 8443 }\n  - { name: dev2, port: 8444, cpus: 2 }\n`;
    expect(problemsOf(text)).toEqual([
      `${lineOf(text, "dev2")}|developers.1.cpuLimit|developer "dev2": cpuLimit 1.5 is below the cpu reservation 2`,
    ]);
  });
});

describe('"did you mean" for an unknown key', () => {
  const developer = (fields: string) => `${HEAD}developers:\n  - { name: dev1, port: 8443 }\n  - { name: dev2, port: 8444, ${fields} }\n`;

  it("suggests from the keys allowed at that place, counting a swap of two letters as one edit", () => {
    const text = `${HEAD}developers:\n  - { nmae: dev1, port: 8443 }\n`;
    expect(problemsOf(text)).toEqual([
      `${lineOf(text, "nmae")}|developers.0.name|name is required`,
      `${lineOf(text, "nmae")}|developers.0.nmae|unknown key "nmae" (did you mean "name"?); remove it or fix its spelling`,
    ]);
  });

  it("suggests every key a shortened one begins: memory, prio", () => {
    const text = developer("memory: 6, prio: 7");
    expect(problemsOf(text)).toEqual([
      `${lineOf(text, "memory")}|developers.1.memory|unknown key "memory" (did you mean "memoryGiB" or "memoryLimitGiB"?); remove it or fix its spelling`,
      `${lineOf(text, "prio")}|developers.1.prio|unknown key "prio" (did you mean "priority"?); remove it or fix its spelling`,
    ]);
  });

  it("suggests a key that a longer one starts with, and keys in a nested section", () => {
    const text = `${HEAD}codeServer: { tga: "4.102.2" }\ndevelopers:\n  - { name: dev1, portNumber: 8443, port: 8443 }\n`;
    expect(problemsOf(text)).toEqual([
      `${lineOf(text, "tga")}|codeServer.tga|unknown key "tga" (did you mean "tag"?); remove it or fix its spelling`,
      `${lineOf(text, "portNumber")}|developers.0.portNumber|unknown key "portNumber" (did you mean "port"?); remove it or fix its spelling`,
    ]);
  });

  it("lists the keys allowed at that place when none is close", () => {
    const text = developer("colour: blue");
    expect(problemsOf(text)).toEqual([
      `${lineOf(text, "colour")}|developers.1.colour|unknown key "colour"; remove it, or use one of the keys allowed here: name, port, priority, cpus, cpuLimit, memoryGiB, memoryLimitGiB, extensions`,
    ]);
  });
});

describe("a key written twice", () => {
  it("is named, at the second one's line, with the line of the first", () => {
    const text = `domain: dev.example.com\nhost:\n  instanceType: t3.2xlarge\n  instanceType: t3.xlarge\ndevelopers:\n  - { name: dev1, port: 8443 }\n`;
    expect(problemsOf(text)).toEqual([
      `4|host.instanceType|duplicate key "instanceType", already set on line 3: YAML keeps only one of the two values; remove one`,
    ]);
  });

  it("is found in a developer's flow mapping and at the top level, every one at once", () => {
    const text = `domain: dev.example.com\nhost: { instanceType: t3.2xlarge }\ndevelopers:\n  - { name: dev1, port: 8443, name: dev2 }\ndomain: example.com\n`;
    expect(problemsOf(text)).toEqual([
      `4|developers.0.name|duplicate key "name", already set on line 4: YAML keeps only one of the two values; remove one`,
      `5|domain|duplicate key "domain", already set on line 1: YAML keeps only one of the two values; remove one`,
    ]);
  });
});
