import { readFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { INSTANCE_TYPES, MAX_DEVELOPERS, parseRoster } from "../src/roster";
import { SYSTEM_PROJECT_NAMES } from "../src/roster/project-names";
import { problemsOf } from "./helpers/fleet";

const DEFAULT_ROSTER = readFileSync(join(__dirname, "..", "roster.yaml"), "utf8");

/** A minimal valid roster, as an object to tweak. */
function base(): Record<string, unknown> {
  return {
    domain: "dev.example.com",
    host: { instanceType: "t3.2xlarge" },
    developers: [
      { name: "alice", port: 8443 },
      { name: "bob", port: 8444 },
    ],
  };
}

const reject = (roster: object) => problemsOf(stringify(roster));

describe("the default roster", () => {
  const fleet = parseRoster(DEFAULT_ROSTER);

  it("is the default team: dev1..dev8 on ports 8443..8450 under dev.example.com", () => {
    expect(fleet.developers.map((d) => d.name)).toEqual(["dev1", "dev2", "dev3", "dev4", "dev5", "dev6", "dev7", "dev8"]);
    expect(fleet.developers.map((d) => d.port)).toEqual([8443, 8444, 8445, 8446, 8447, 8448, 8449, 8450]);
    expect(fleet.developers[0].hostname).toBe("dev1.dev.example.com");
    expect(fleet.domain).toBe("dev.example.com");
  });

  it("runs on a t3.2xlarge in ap-southeast-7 with 1 vCPU / 3 GiB reserved and 1.5 / 4 GiB limits each", () => {
    expect(fleet.region).toBe("ap-southeast-7");
    expect(fleet.host).toMatchObject({ instanceType: "t3.2xlarge", vcpus: 8, memoryGiB: 32, architecture: "x86_64", burstable: true });
    for (const d of fleet.developers) {
      expect(d).toMatchObject({ cpus: 1, cpuLimit: 1.5, memoryMiB: 3072, memoryLimitMiB: 4096 });
    }
  });

  it("pins code-server and the Claude extension, Claude first in every developer's extensions", () => {
    expect(fleet.codeServer.tag).not.toBe("latest");
    expect(fleet.developers[0].extensions[0]).toBe(`anthropic.claude-code@${fleet.codeServer.claudeExtensionVersion}`);
  });

  it("derives listener-rule priorities from the ports and keeps local state", () => {
    expect(fleet.developers.map((d) => d.priority)).toEqual(fleet.developers.map((d) => d.port));
    expect(fleet.state).toEqual({ backend: "local" });
  });

  it("is frozen", () => {
    expect(Object.isFrozen(fleet.developers)).toBe(true);
    expect(Object.isFrozen(fleet.developers[0])).toBe(true);
  });
});

describe("bad rosters are rejected with the field, the value and the line", () => {
  it("reports a YAML syntax error with its line", () => {
    const problems = problemsOf("domain: dev.example.com\nhost:\n  instanceType: [t3.large\ndevelopers: []\n");
    expect(problems[0]).toMatch(/^\d+\|\|YAML syntax error/);
  });

  it("reports a misspelt key and suggests the right one", () => {
    const text = stringify({ ...base(), developpers: [] });
    const [problem] = problemsOf(text);
    expect(problem).toContain('developpers|unknown key "developpers" (did you mean "developers"?)');
    expect(problem.startsWith(`${text.split("\n").findIndex((l) => l.startsWith("developpers")) + 1}|`)).toBe(true);
  });

  it("requires domain", () => {
    const { domain: _omit, ...rest } = base();
    expect(reject(rest)).toEqual([expect.stringMatching(/\|domain\|domain is required/)]);
  });

  it.each(["Dev.Example.com", "example", "dev_team.example.com", "-dev.example.com", "dev.example.123"])("rejects domain %p", (domain) => {
    expect(reject({ ...base(), domain })).toEqual([
      expect.stringMatching(new RegExp(`\\|domain\\|.*DNS name.*found "${domain.replace(/\./g, "\\.")}"`)),
    ]);
  });

  it.each([
    ["upper case", "Alice"],
    ["underscore", "al_ice"],
    ["too long", "a".repeat(64)],
    ["leading hyphen", "-alice"],
    ["trailing hyphen", "alice-"],
  ])("rejects a developer name with %s", (_why, name) => {
    const roster = base();
    (roster.developers as object[])[1] = { name, port: 8444 };
    expect(reject(roster)).toEqual([expect.stringMatching(new RegExp(`^\\d+\\|developers\\.1\\.name\\|.*DNS label.*found "${name}"`))]);
  });

  it("rejects a name that makes an AWS target group name too long, saying how long it may be", () => {
    const roster = base();
    (roster.developers as object[])[0] = { name: "a-rather-long-name", port: 8443 };
    expect(reject(roster)).toEqual([
      expect.stringMatching(/developers\.0\.name\|.*"code-server-dev-a-rather-long-name" would be 34 characters.*at most 16 characters/),
    ]);
  });

  it("rejects duplicate names and duplicate ports, naming both entries", () => {
    const roster = base();
    roster.developers = [
      { name: "alice", port: 8443 },
      { name: "alice", port: 8444 },
      { name: "carol", port: 8443 },
    ];
    const problems = reject(roster);
    expect(problems).toContainEqual(
      expect.stringMatching(/developers\.1\.name\|name "alice" is used by more than one developer \(developers\[0\], developers\[1\]\)/),
    );
    expect(problems).toContainEqual(
      expect.stringMatching(/developers\.2\.port\|port 8443 is used by more than one developer \(developers\[0\], developers\[2\]\)/),
    );
    expect(problems).toHaveLength(2);
  });

  it.each([1023, 65536, 80, 8443.5])("rejects port %p", (port) => {
    const roster = base();
    (roster.developers as object[])[0] = { name: "alice", port };
    expect(reject(roster)).toEqual([expect.stringMatching(new RegExp(`developers\\.0\\.port\\|.*found ${port}`))]);
  });

  it("accepts the edges of the port range", () => {
    const roster = base();
    roster.developers = [
      { name: "alice", port: 1024 },
      { name: "bob", port: 65535, priority: 2 },
    ];
    expect(parseRoster(stringify(roster)).developers.map((d) => [d.port, d.priority])).toEqual([
      [1024, 1024],
      [65535, 2],
    ]);
  });

  it("asks for an explicit priority when a port cannot double as one", () => {
    const roster = base();
    (roster.developers as object[])[1] = { name: "bob", port: 60000 };
    expect(reject(roster)).toEqual([
      expect.stringMatching(/developers\.1\.port\|.*port 60000 cannot double as the ALB rule priority.*set priority/),
    ]);
  });

  it("rejects an empty developer list", () => {
    expect(reject({ ...base(), developers: [] })).toEqual([expect.stringMatching(/developers\|developers is empty/)]);
  });

  it(`rejects more developers than one listener can route (${MAX_DEVELOPERS} rules)`, () => {
    const developers = Array.from({ length: MAX_DEVELOPERS + 1 }, (_, i) => ({
      name: `d${i}`,
      port: 10000 + i,
      cpus: 0.1,
      memoryGiB: 0.25,
      cpuLimit: 1,
      memoryLimitGiB: 1,
    }));
    const problems = reject({ ...base(), host: { instanceType: "m5.24xlarge" }, developers });
    expect(problems).toEqual([expect.stringMatching(/developers\|101 developers is more than one ALB listener can route \(100 rules\)/)]);
  });

  it("rejects an unknown instance type, and accepts it with vcpus and memory stated", () => {
    expect(reject({ ...base(), host: { instanceType: "x9.huge" } })).toEqual([
      expect.stringMatching(/host\.instanceType\|unknown instance type "x9\.huge".*state host\.vcpus and host\.memoryGiB/),
    ]);
    const fleet = parseRoster(stringify({ ...base(), host: { instanceType: "x9.huge", vcpus: 4, memoryGiB: 16 } }));
    expect(fleet.host).toMatchObject({ vcpus: 4, memoryGiB: 16 });
  });

  it("rejects a roster whose memory reservations plus OS headroom exceed the host, with the numbers and a type that fits", () => {
    const developers = Array.from({ length: 8 }, (_, i) => ({ name: `dev${i + 1}`, port: 8443 + i }));
    const problems = reject({ ...base(), host: { instanceType: "t3.xlarge" }, developers });
    expect(problems).toContainEqual(
      expect.stringMatching(
        /host\.instanceType\|.*8 developers reserve 24 GiB of memory plus 2 GiB OS headroom = 26 GiB, but it has 16 GiB\. Choose a larger host\.instanceType \(t3\.2xlarge fits\)/,
      ),
    );
    expect(problems).toContainEqual(expect.stringMatching(/8 developers reserve 8 vCPU but it has 4/));
  });

  it("counts the OS headroom: 8 x 3 GiB fits 32 GiB with 2 GiB headroom but not with 9", () => {
    const developers = Array.from({ length: 8 }, (_, i) => ({ name: `dev${i + 1}`, port: 8443 + i }));
    expect(() => parseRoster(stringify({ ...base(), developers }))).not.toThrow();
    expect(reject({ ...base(), host: { instanceType: "t3.2xlarge", osHeadroomGiB: 9 }, developers })).toEqual([
      expect.stringMatching(/24 GiB of memory plus 9 GiB OS headroom = 33 GiB, but it has 32 GiB/),
    ]);
  });

  it("rejects a limit below its reservation", () => {
    const roster = base();
    (roster.developers as object[])[0] = { name: "alice", port: 8443, memoryGiB: 4, memoryLimitGiB: 3 };
    expect(reject(roster)).toEqual([
      expect.stringMatching(/developers\.0\.memoryLimitGiB\|.*memoryLimitGiB 3 is below the memory reservation 4/),
    ]);
  });

  it("rejects an unpinned code-server image", () => {
    expect(reject({ ...base(), codeServer: { tag: "latest" } })).toEqual([expect.stringMatching(/codeServer\.tag\|.*never 'latest'/)]);
  });

  it("rejects availability zones outside the region, or fewer than two", () => {
    expect(reject({ ...base(), availabilityZones: ["ap-southeast-7a"] })).toEqual([
      expect.stringMatching(/at least two availability zones/),
    ]);
    expect(reject({ ...base(), availabilityZones: ["ap-southeast-7a", "us-east-1b"] })).toEqual([
      expect.stringMatching(/availabilityZones\.1\|"us-east-1b" is not a zone of region ap-southeast-7/),
    ]);
  });

  it.each([
    [{ enabled: "yes" }, "waf.enabled", /enabled must be true or false \(found yes\)/],
    [
      { enabled: true, rateLimitPer5Minutes: 50 },
      "waf.rateLimitPer5Minutes",
      /at least 100 \(AWS WAF's lower bound for a rate-based rule\)/,
    ],
    [{ enabled: true, rateLimitPer5Minutes: 3000.5 }, "waf.rateLimitPer5Minutes", /must be a whole number \(found 3000\.5\)/],
    [{ enabled: true, rateLimitPer5Minutes: 3_000_000_000 }, "waf.rateLimitPer5Minutes", /at most 2000000000 \(AWS WAF's upper bound\)/],
    [{ enable: true }, "waf", /unknown key "enable" \(did you mean "enabled"\?\)/],
  ])("rejects waf %j at its line", (waf, path, message) => {
    const text = stringify({ ...base(), waf });
    const [problem] = problemsOf(text);
    expect(problem).toMatch(new RegExp(`^\\d+\\|${path.replace(/\./g, "\\.")}(\\.enable)?\\|`));
    expect(problem).toMatch(message);
  });

  it("switches the WAF on with a rate limit, and leaves it off by default", () => {
    expect(parseRoster(stringify(base())).waf).toEqual({ enabled: false, rateLimitPer5Minutes: 3000 });
    expect(parseRoster(stringify({ ...base(), waf: { enabled: true, rateLimitPer5Minutes: 500 } })).waf).toEqual({
      enabled: true,
      rateLimitPer5Minutes: 500,
    });
  });

  it("reports every problem at once", () => {
    const roster = base();
    roster.developers = [
      { name: "Alice", port: 80 },
      { name: "bob", port: 8444, colour: "blue" },
    ];
    expect(reject({ ...roster, domain: "BAD" })).toHaveLength(4);
  });
});

describe("roster options", () => {
  it("lets a developer add extensions and re-pin a fleet one", () => {
    const roster = base();
    roster.codeServer = { extensions: ["ms-python.python", "golang.go"] };
    (roster.developers as object[])[0] = { name: "alice", port: 8443, extensions: ["rust-lang.rust-analyzer", "golang.go@0.40.0"] };
    const [alice, bob] = parseRoster(stringify(roster)).developers;
    expect(alice.extensions.slice(1)).toEqual(["ms-python.python", "golang.go@0.40.0", "rust-lang.rust-analyzer"]);
    expect(bob.extensions.slice(1)).toEqual(["ms-python.python", "golang.go"]);
  });

  it("selects the S3 backend from the roster, with key and region defaults", () => {
    const fleet = parseRoster(stringify({ ...base(), state: { backend: "s3", bucket: "acme-tfstate" } }));
    expect(fleet.state).toEqual({
      backend: "s3",
      bucket: "acme-tfstate",
      key: "code-server/dev/terraform.tfstate",
      region: "ap-southeast-7",
    });
  });

  it("selects the S3 backend from STATE_BUCKET, over the roster", () => {
    const fleet = parseRoster(stringify(base()), "roster.yaml", {
      STATE_BUCKET: "ops-state",
      STATE_KEY: "cs.tfstate",
      STATE_REGION: "eu-west-1",
    });
    expect(fleet.state).toEqual({ backend: "s3", bucket: "ops-state", key: "cs.tfstate", region: "eu-west-1" });
  });
});

describe("state, project and extension ids that would reach AWS or the host unchecked", () => {
  const s3 = (state: object) => reject({ ...base(), state: { backend: "s3", bucket: "acme-tfstate", ...state } });
  /** The line of the first line of `text` that contains `needle`. */
  const lineIn = (text: string, needle: string) => text.split("\n").findIndex((l) => l.includes(needle)) + 1;

  it.each([
    ["My_Bucket", "must be an S3 bucket name: 3-63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit"],
    ["ab", "must be an S3 bucket name: 3-63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit"],
    ["a".repeat(64), "must be an S3 bucket name: 3-63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit"],
    ["acme..tfstate", "must not contain two '.' in a row (S3's bucket naming rules)"],
    ["192.168.5.4", "must not be written like an IP address (S3's bucket naming rules)"],
    ["xn--acme", 'must not start with "xn--", which S3 reserves'],
    ["acme-s3alias", 'must not end with "-s3alias", which S3 reserves'],
  ])("refuses state.bucket %j with the rule it breaks", (bucket, rule) => {
    const text = stringify({ ...base(), state: { backend: "s3", bucket } });
    expect(problemsOf(text)).toEqual([`${lineIn(text, "bucket:")}|state.bucket|state.bucket ${rule} (found ${JSON.stringify(bucket)})`]);
  });

  it.each([
    [
      "/code-server/dev/terraform.tfstate",
      "must not start with '/': it is a path inside the bucket, e.g. code-server/dev/terraform.tfstate",
    ],
    [
      "code-server/../other/terraform.tfstate",
      "must not have a '.' or '..' part: write the path in the bucket as it is, e.g. code-server/dev/terraform.tfstate",
    ],
    [
      "code-server//terraform.tfstate",
      "must not end with '/' or hold '//': every part of the path needs a name, e.g. code-server/dev/terraform.tfstate",
    ],
    ["code-server/", "must not end with '/' or hold '//': every part of the path needs a name, e.g. code-server/dev/terraform.tfstate"],
    ["my state.tfstate", "must be a path in the bucket of letters, digits, '/' and !-_.*'() only, e.g. code-server/dev/terraform.tfstate"],
  ])("refuses state.key %j with the rule it breaks", (key, rule) => {
    expect(s3({ key })).toEqual([expect.stringMatching(/^\d+\|state\.key\|/)]);
    expect(s3({ key })[0].split("|")[2]).toBe(`state.key ${rule} (found ${JSON.stringify(key)})`);
  });

  it("refuses a state.key longer than S3 allows, showing the start of it rather than all of it", () => {
    const key = `${"k".repeat(1022)}.tf`;
    expect(s3({ key })[0].split("|")[2]).toBe(
      `state.key must be at most 1024 bytes (S3's limit on a key) (found 1025 characters: "${"k".repeat(40)}"...)`,
    );
    expect(
      parseRoster(stringify({ ...base(), state: { backend: "s3", bucket: "acme-tfstate", key: "k".repeat(1024) } })).state,
    ).toMatchObject({
      key: "k".repeat(1024),
    });
  });

  it("refuses a state.region that is no region code", () => {
    expect(s3({ region: "eu-west" })).toEqual([
      expect.stringMatching(/\|state\.region\|state\.region must be an AWS region code such as ap-southeast-7 \(found "eu-west"\)$/),
    ]);
  });

  it("holds STATE_BUCKET, STATE_KEY and STATE_REGION to the same rules, naming the variable", () => {
    const env = { STATE_BUCKET: "Ops_State", STATE_KEY: "/cs.tfstate", STATE_REGION: "eu-west" };
    let message = "";
    try {
      parseRoster(stringify(base()), "roster.yaml", env);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message.split("\n").slice(1)).toEqual([
      `  roster.yaml: the environment variable STATE_BUCKET must be an S3 bucket name: 3-63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit (found "Ops_State")`,
      `  roster.yaml: the environment variable STATE_KEY must not start with '/': it is a path inside the bucket, e.g. code-server/dev/terraform.tfstate (found "/cs.tfstate")`,
      `  roster.yaml: the environment variable STATE_REGION must be an AWS region code such as ap-southeast-7 (found "eu-west")`,
    ]);
  });

  it("refuses project: docker, which would put the host's files among Docker's own, with the reason and what to do", () => {
    expect(reject({ project: "docker", ...base() })).toEqual([
      `1|project|project "docker" names directories of Docker and containerd on the host: the host keeps this fleet's files in /etc/docker, /var/lib/docker and /opt/docker (replacing /opt/docker on every apply), which would mix them with that software's own. Choose another project name (e.g. docker-ide)`,
    ]);
  });

  it.each(["aws", "amazon", "containerd", "snap", "systemd", "cloud", "apt", "ssh"])(
    "refuses project: %s, a directory of the host's own software",
    (project) => {
      expect(reject({ project, ...base() })).toEqual([
        expect.stringMatching(new RegExp(`^1\\|project\\|project "${project}" names directories of `)),
      ]);
    },
  );

  it("refuses only names a project could have, and accepts others that merely contain one", () => {
    for (const name of SYSTEM_PROJECT_NAMES)
      expect([name, /^[a-z][a-z0-9-]*[a-z0-9]$/.test(name) && name.length <= 16]).toEqual([name, true]);
    expect(parseRoster(stringify({ project: "docker-ide", ...base() })).project).toBe("docker-ide");
  });

  it("refuses a 5,000-character extension id in one message, showing only its start", () => {
    const id = `${"a".repeat(4995)}.long`;
    const text = stringify({ ...base(), codeServer: { extensions: [id] } });
    expect(problemsOf(text)).toEqual([
      `${lineIn(text, "aaaa")}|codeServer.extensions.0|extension ids are at most 767 characters: publisher, name and version at most 255 each (Open VSX's limit) (found 5000 characters: "${"a".repeat(40)}"...)`,
    ]);
  });

  it("accepts a 255-character publisher and refuses a 256-character one", () => {
    const developers = (publisher: string) => [{ name: "alice", port: 8443, extensions: [`${publisher}.tool@1.0.0`] }];
    expect(parseRoster(stringify({ ...base(), developers: developers("p".repeat(255)) })).developers[0].extensions).toHaveLength(5);
    expect(reject({ ...base(), developers: developers("p".repeat(256)) })).toEqual([
      expect.stringMatching(
        /\|developers\.0\.extensions\.0\|an extension id's publisher, name and version are at most 255 characters each \(Open VSX's limit\) \(found 267 characters: "p{40}"\.\.\.\)$/,
      ),
    ]);
  });
});

describe("instance type table", () => {
  it.each([
    ["t3.2xlarge", 8, 32, "x86_64"],
    ["t3a.2xlarge", 8, 32, "x86_64"],
    ["c5.4xlarge", 16, 32, "x86_64"],
    ["m5.16xlarge", 64, 256, "x86_64"],
    ["r6i.large", 2, 16, "x86_64"],
    ["m7g.xlarge", 4, 16, "arm64"],
    ["t4g.medium", 2, 4, "arm64"],
    ["c5.9xlarge", 36, 72, "x86_64"],
  ])("knows %s: %d vCPU, %d GiB, %s", (type, vcpus, memoryGiB, architecture) => {
    expect(INSTANCE_TYPES.get(type)).toEqual({ vcpus, memoryGiB, architecture });
  });

  it("covers the families the roster documents", () => {
    const families = new Set([...INSTANCE_TYPES.keys()].map((t) => t.split(".")[0]));
    for (const f of ["t3", "t3a", "m5", "m6i", "m7i", "c5", "c6i", "r5", "r6i", "t4g", "m6g", "m7g", "c6g", "c7g", "r6g", "r7g"]) {
      expect(families).toContain(f);
    }
  });
});
