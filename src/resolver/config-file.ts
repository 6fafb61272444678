/**
 * Reading the resolver's configuration file once, at start: JSON or YAML (YAML is parsed
 * with `loadYaml` of @kubernetes/client-node, in the startup helper: see startup-helper.ts),
 * validated by `resolverConfigSchema`. A bad file is refused with the file and the field named.
 */
import { readFileSync } from 'node:fs';
import { resolverConfigSchema } from '../api/resolver-config.ts';
import type { ResolverConfig } from '../api/resolver-config.ts';
import { parseServer } from './upstream/routes.ts';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** True when the file is JSON (the operator writes JSON; YAML is for people). */
export function isJson(text: string): boolean {
  return text.trimStart().startsWith('{');
}

export function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Parses JSON text; YAML is parsed elsewhere (startup-helper.ts) and handed to validateResolverConfig. */
export function parseJsonConfig(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${file}: not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Validates a parsed config file; the error names the file and every bad field. */
export function validateResolverConfig(raw: unknown, file: string): ResolverConfig {
  const parsed = resolverConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(top level)'}: ${issue.message}`);
    throw new ConfigError(`${file}: ${problems.join('; ')}`);
  }
  const config = parsed.data;
  const servers: Array<[string, string]> = [
    ...config.upstream.nameservers.map((s, i): [string, string] => [`upstream.nameservers.${i}`, s]),
    ...Object.entries(config.stubDomains).flatMap(([zone, list]) => list.map((s, i): [string, string] => [`stubDomains.${zone}.${i}`, s])),
    ...(config.shadow ? [['shadow.baseline', config.shadow.baseline] as [string, string]] : []),
  ];
  for (const [path, server] of servers) {
    try {
      parseServer(server);
    } catch (error) {
      throw new ConfigError(`${file}: ${path}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return config;
}
