/** Files written whole or not at all, and caches that drop the builds they replace. */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keepReplacingEarlier, writeFileAtomically } from "../src/write-atomically";

const dir = mkdtempSync(join(tmpdir(), "write-atomically-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("writeFileAtomically", () => {
  it("replaces the file and leaves nothing beside it", () => {
    const file = join(dir, "prices.json");
    writeFileSync(file, "old");
    writeFileAtomically(file, "new");
    expect(readFileSync(file, "utf8")).toBe("new");
    expect(readdirSync(dir)).toEqual(["prices.json"]);
  });

  it("leaves the old file and no staging file when the rename fails", () => {
    const target = join(dir, "a-directory");
    mkdirSync(join(target, "inside"), { recursive: true });
    expect(() => writeFileAtomically(target, "text")).toThrow();
    expect(readdirSync(dir).sort()).toEqual(["a-directory", "prices.json"]);
    expect(readdirSync(target)).toEqual(["inside"]);
  });
});

describe("keepReplacingEarlier", () => {
  it("keeps the new build and removes only the earlier ones of the same kind", () => {
    const cache = join(dir, "cache");
    mkdirSync(cache);
    for (const name of ["wake-aaaa.js", "wake.inputs.json", "sleeper-bbbb.js"]) writeFileSync(join(cache, name), name);
    keepReplacingEarlier(cache, "wake-cccc.js", "bundle", /^wake-[a-z]{4}\.js$/);
    expect(readdirSync(cache).sort()).toEqual(["sleeper-bbbb.js", "wake-cccc.js", "wake.inputs.json"]);
    expect(readFileSync(join(cache, "wake-cccc.js"), "utf8")).toBe("bundle");
  });
});
