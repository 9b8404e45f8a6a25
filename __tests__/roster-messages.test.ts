/**
 * Roster messages for the mistakes YAML makes easy: merge keys, tabs, quoted numbers, versions
 * read as numbers, a "v" on the image tag, one extension spelled two ways, and a bad default
 * reported once at its own line. Each problem names its line, the field and what to write.
 */
import { Testing } from "cdktf";
import { stackProps } from "../src/app";
import { developerConstructIds } from "../src/naming";
import { parseRoster } from "../src/roster";
import { editDistance } from "../src/roster/suggest";
import { DevEnvironmentStack } from "../src/stacks/dev-environment-stack";
import { fleetOf } from "./fixtures/rosters";
import { editedFleet, problemsOf } from "./helpers/fleet";

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

  it("suggests from the keys of the state backend written, and says when a key belongs to another backend", () => {
    const text = (state: string) => `${HEAD}developers:\n  - { name: dev1, port: 8443 }\nstate: ${state}\n`;
    expect(problemsOf(text("{ backend: s3, bucket: acme-tfstate, regoin: eu-west-1 }"))).toEqual([
      `5|state.regoin|unknown key "regoin" (did you mean "region"?); remove it or fix its spelling`,
    ]);
    expect(problemsOf(text("{ backend: local, bucket: acme-tfstate }"))).toEqual([
      `5|state.bucket|unknown key "bucket" for this backend; remove it, or use one of the keys allowed here: backend`,
    ]);
  });

  it("lists the keys allowed at that place when none is close", () => {
    const text = developer("colour: blue");
    expect(problemsOf(text)).toEqual([
      `${lineOf(text, "colour")}|developers.1.colour|unknown key "colour"; remove it, or use one of the keys allowed here: name, port, priority, cpus, cpuLimit, memoryGiB, memoryLimitGiB, extensions, email, sub`,
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

describe("every problem at once, those of the fields that parsed beside those of the ones that did not", () => {
  it("reports a misspelt time zone and a bad day beside a malformed start, instead of after it is fixed", () => {
    const text = `${HEAD}developers:\n  - { name: dev1, port: 8443 }\nschedule:\n  timezone: Asia/Bankok\n  days: [mon, tuesday]\n  start: 8am\n  stop: "20:00"\n`;
    expect(problemsOf(text)).toEqual([
      `${lineOf(text, "Bankok")}|schedule.timezone|"Asia/Bankok" is not an IANA time zone: did you mean "Asia/Bangkok"? write it as Area/City, e.g. Asia/Bangkok or Europe/Berlin (the zone the schedule's times are in)`,
      `${lineOf(text, "tuesday")}|schedule.days.1|"tuesday" is not a day: write days as mon, tue, wed, thu, fri, sat, sun (did you mean "tue"?)`,
      `${lineOf(text, "8am")}|schedule.start|schedule.start must be a time of day HH:MM from 00:00 to 23:59, e.g. "08:00" (found "8am")`,
    ]);
  });

  it("reports problems of several sections together, in file order, each rule running on what it reads that is valid", () => {
    const text = [
      "project: Code-Server",
      "region: eu-west-1",
      "availabilityZones: [eu-west-1a, eu-west-2b]",
      "domain: dev.example.com",
      "host: { instanceType: t3.2xlarge }",
      "developers:",
      "  - { name: Alice, port: 8443, cpus: 2, cpuLimit: 1 }",
      "  - { name: bob, port: 8443, memory: 4 }",
      "  - { name: carol, port: 8444, priority: 8443 }",
      "",
    ].join("\n");
    expect(problemsOf(text)).toEqual([
      `1|project|project must be lower-case letters, digits and '-', starting with a letter (found "Code-Server")`,
      `3|availabilityZones.1|"eu-west-2b" is not a zone of region eu-west-1 (e.g. eu-west-1a)`,
      `7|developers.0.name|a developer name must be a DNS label: 1-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit (no upper case, no '_') (found "Alice")`,
      `7|developers.0.cpuLimit|developers[0]: cpuLimit 1 is below the cpu reservation 2`,
      `8|developers.1.memory|unknown key "memory" (did you mean "memoryGiB" or "memoryLimitGiB"?); remove it or fix its spelling`,
      `8|developers.1.port|port 8443 is used by more than one developer (developers[0], developers[1]); each developer needs its own`,
      `8|developers.1.priority|listener-rule priority (explicit, or taken from the port) 8443 is used by more than one developer (developers[0], developers[1], developers[2]); each developer needs its own`,
    ]);
  });

  it("sums what the developers reserve on the host only when every developer's share is known, not with one left out", () => {
    const team = Array.from({ length: 9 }, (_, i) => `  - { name: dev${i + 1}, port: ${8443 + i} }`).join("\n");
    const text = `${HEAD}developers:\n${team}\n  - { name: dev10, port: 8452, memoryGiB: lots }\n`;
    // 10 x 1 vCPU is known and too much; the memory is not known, so neither its sum nor a type that fits is claimed.
    expect(problemsOf(text)).toEqual([
      `2|host.instanceType|the roster does not fit t3.2xlarge: 10 developers reserve 10 vCPU but it has 8. Choose a larger host.instanceType, lower cpus, or remove developers`,
      `${lineOf(text, "lots")}|developers.9.memoryGiB|memoryGiB must be a number (found lots)`,
    ]);
    expect(problemsOf(text.replace("memoryGiB: lots", "memoryGiB: 4"))).toEqual([
      expect.stringMatching(/^2\|host\.instanceType\|the roster does not fit t3\.2xlarge: 10 developers reserve 10 vCPU but it has 8\./),
      expect.stringMatching(
        /^2\|host\.instanceType\|the roster does not fit t3\.2xlarge: 10 developers reserve 31 GiB of memory plus 2 GiB OS headroom = 33 GiB/,
      ),
    ]);
  });

  it("still checks the developers when the host section is refused, and the rest when a key is written twice", () => {
    const text = `domain: dev.example.com\nhost: { instanceType: t3.2xlarge, size: big }\ndevelopers:\n  - { name: dev1, port: 8443 }\n  - { name: dev2, port: 8443 }\ndomain: Example\n`;
    expect(problemsOf(text)).toEqual([
      `2|host.size|unknown key "size"; remove it, or use one of the keys allowed here: instanceType, vcpus, memoryGiB, osHeadroomGiB`,
      `5|developers.1.port|port 8443 is used by more than one developer (developers[0], developers[1]); each developer needs its own`,
      `6|domain|duplicate key "domain", already set on line 1: YAML keeps only one of the two values; remove one`,
      `6|domain|domain must be a DNS name: lower-case labels of a-z, 0-9 and '-' separated by dots, e.g. dev.example.com (found "Example")`,
    ]);
  });
});

describe("two names whose resources would meet", () => {
  const team = (...names: string[]) => `${HEAD}developers:\n${names.map((n, i) => `  - { name: ${n}, port: ${8443 + i} }`).join("\n")}\n`;

  it("refuses ab-1 beside ab--1 (one S3 object for both config files), naming both and what to do", () => {
    const text = team("ab-1", "ab--1");
    expect(problemsOf(text)).toEqual([
      `${lineOf(text, "ab--1")}|developers.1.name|developer "ab--1" clashes with "ab-1" (developers[0]): the S3 object of the code-server config of each would be file-config-ab-1-config-yaml-tmpl, since a resource id writes a run of '-' as one '-'. Rename one of the two`,
    ]);
  });

  it("refuses ab-host beside ab (the target group of one is the other's target-group attachment)", () => {
    const text = team("ab-host", "dev2", "ab");
    expect(problemsOf(text)).toEqual([
      `${lineOf(text, "name: ab,")}|developers.2.name|developer "ab" clashes with "ab-host" (developers[0]): the ALB target-group attachment of "ab" and the ALB target group of "ab-host" would both be tg-ab-host. Rename one of the two`,
    ]);
  });

  it("accepts names that only look alike", () => {
    expect(parseRoster(team("ab-1", "ab1", "a-b-1", "ab-hosts", "host")).developers).toHaveLength(5);
  });

  it("checks the construct ids the stacks of both platforms really create: every construct named after a developer is one the roster checks", () => {
    const developers = [
      { name: "alice", port: 8443 },
      { name: "bob", port: 8444 },
    ];
    const onHost = fleetOf(developers);
    const onEcs = editedFleet((roster) => {
      roster.developers = developers.map((d) => ({ ...d, email: `${d.name}@example.com` }));
      roster.auth = { type: "oidc", issuer: "https://login.example.com", clientId: "fleet" };
      roster.platform = "ecs";
      roster.schedule = { timezone: "UTC", days: ["mon"], start: "08:00", stop: "18:00" };
      delete roster.host;
    });
    const stacks = [onHost, onEcs].map((fleet) => new DevEnvironmentStack(Testing.app(), "code-server-dev", stackProps(fleet)));
    // A layer's ids are unique in its scope: an ECS shard of the ALB holds the ALB's ids, the homes the access points.
    const layerOf = (path: string) => path.replace(/^alb\/shard-\d+\//, "alb/").replace(/^ecs\/homes\//, "ecsHomes/");
    for (const name of ["alice", "bob"]) {
      const named = stacks.flatMap((stack) =>
        stack.node
          .findAll()
          .filter((c) => c.node.id.includes(name))
          .map((c) => layerOf(c.node.path.slice(stack.node.path.length + 1))),
      );
      const checked = Object.entries(developerConstructIds({ name })).flatMap(([layer, ids]) =>
        Object.values(ids as Record<string, string>).map((id) => `${layer}/${id}`),
      );
      expect([...new Set(named)].sort()).toEqual(checked.sort());
    }
  });
});

describe("edit distance", () => {
  it("counts a swap of two neighbouring letters as one edit, and ignores case", () => {
    expect([editDistance("nmae", "name"), editDistance("prot", "port"), editDistance("MemoryGib", "memoryGiB")]).toEqual([1, 1, 0]);
    expect(editDistance("cpus", "cpuLimit")).toBe(5);
  });
});
