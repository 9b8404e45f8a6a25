/**
 * Each roster default and key has one source, the schema: an absent section gets the same
 * defaults as an empty one, and the "did you mean" vocabulary of each place is read from the schema itself.
 */
import { stringify } from "yaml";
import { RosterError, parseRoster } from "../src/roster";
import { INSTANCE_FAMILIES, INSTANCE_TYPES } from "../src/roster/instance-types";
import { keysAt, rosterSchema } from "../src/roster/schema";

const minimal = { domain: "dev.example.com", host: { instanceType: "t3.2xlarge" }, developers: [{ name: "alice", port: 8443 }] };

function problems(roster: object): string[] {
  try {
    parseRoster(stringify(roster));
  } catch (err) {
    if (err instanceof RosterError) return err.problems.map((p) => p.message);
    throw err;
  }
  throw new Error("expected the roster to be rejected");
}

describe("roster defaults", () => {
  const fleet = parseRoster(stringify(minimal));

  it("fill in every section a roster leaves out, with the values docs/roster-reference.md documents", () => {
    expect(fleet).toMatchObject({
      project: "code-server",
      environment: "dev",
      region: "ap-southeast-7",
      availabilityZones: ["ap-southeast-7a", "ap-southeast-7b"],
      host: { osHeadroomGiB: 2 },
      codeServer: {
        image: "codercom/code-server",
        tag: "4.102.2",
        claudeExtensionVersion: "2.1.121",
        extensions: ["ms-python.python", "golang.go", "dbaeumer.vscode-eslint"],
      },
      state: { backend: "local" },
      waf: { enabled: false, rateLimitPer5Minutes: 3000 },
    });
    expect(fleet.developers[0]).toMatchObject({ cpus: 1, cpuLimit: 1.5, memoryMiB: 3 * 1024, memoryLimitMiB: 4 * 1024 });
  });

  it("are the same for an absent section and an empty one", () => {
    expect(parseRoster(stringify({ ...minimal, codeServer: {}, developerDefaults: {} }))).toEqual(fleet);
  });

  it("fill in only the fields a partial section leaves out", () => {
    const partial = parseRoster(stringify({ ...minimal, codeServer: { tag: "4.100.0" }, developerDefaults: { memoryGiB: 2 } }));
    expect(partial.codeServer).toEqual({ ...fleet.codeServer, tag: "4.100.0" });
    expect(partial.developers[0]).toMatchObject({ cpus: 1, cpuLimit: 1.5, memoryMiB: 2 * 1024, memoryLimitMiB: 4 * 1024 });
  });
});

describe("roster keys", () => {
  it("are read from the schema for each place: a section, a list's items, every state backend", () => {
    expect(keysAt(rosterSchema, ["host"])).toEqual(["instanceType", "vcpus", "memoryGiB", "osHeadroomGiB"]);
    expect(keysAt(rosterSchema, ["developers", 3])).toEqual([
      "name",
      "port",
      "priority",
      "cpus",
      "cpuLimit",
      "memoryGiB",
      "memoryLimitGiB",
      "extensions",
      "idleMinutes",
      "email",
      "sub",
    ]);
    expect(keysAt(rosterSchema, ["auth"], { auth: { type: "oidc" } })).toEqual(["type", "issuer", "clientId", "maxSessionHours"]);
    expect(keysAt(rosterSchema, ["state"])).toEqual(["backend", "bucket", "key", "region"]);
    expect(keysAt(rosterSchema, ["state"], { state: { backend: "local" } })).toEqual(["backend"]);
    expect(keysAt(rosterSchema, ["state"], { state: { backend: "s3" } })).toEqual(["backend", "bucket", "key", "region"]);
    expect(keysAt(rosterSchema, [])).toEqual(expect.arrayContaining(["project", "host", "developers", "schedule", "state"]));
    expect(keysAt(rosterSchema, [])).not.toContain("name");
    expect(keysAt(rosterSchema, ["developers", 0, "name"])).toEqual([]);
  });

  it("give a misspelt nested key a suggestion", () => {
    expect(problems({ ...minimal, codeServer: { tagg: "4.100.0" } }).join("\n")).toMatch(/tagg.*"tag"/);
  });
});

describe("instance types", () => {
  it("an unknown type's problem names every family of the built-in table", () => {
    const message = problems({ ...minimal, host: { instanceType: "x9.large" } }).join("\n");
    for (const family of INSTANCE_FAMILIES) expect(message).toContain(family);
    for (const type of INSTANCE_TYPES.keys()) expect(INSTANCE_FAMILIES).toContain(type.split(".")[0]);
  });
});
