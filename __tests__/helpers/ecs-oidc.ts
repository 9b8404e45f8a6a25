import { parse, stringify } from "yaml";
import { DEFAULT_ROSTER_TEXT } from "./fleet";

type Roster = Record<string, unknown> & { developers: Record<string, unknown>[] };

/** `rosterText` signing in through `https://login.example.com`, each developer by `<name>@example.com`. */
export function withOidc(rosterText: string): string {
  const roster = parse(rosterText) as Roster;
  roster.auth = { type: "oidc", issuer: "https://login.example.com", clientId: "code-server-fleet", maxSessionHours: 10 };
  roster.developers = roster.developers.map((d) => ({ ...d, email: `${d.name as string}@example.com` }));
  return stringify(roster);
}

/** The default roster on ECS, signing in through the company's provider (withOidc). */
export function ecsOidcRosterText(): string {
  const roster = parse(DEFAULT_ROSTER_TEXT) as Roster;
  delete roster.host;
  roster.platform = "ecs";
  return withOidc(stringify(roster));
}
