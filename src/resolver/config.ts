/**
 * Reading the resolver's configuration file once, at start: JSON or YAML, validated by
 * `resolverConfigSchema`. A bad file is refused with the file and the field named.
 */
import { readFileSync } from 'node:fs';
import { loadYaml } from '@kubernetes/client-node';
import { resolverConfigSchema } from '../api/resolver-config.ts';
import type { ResolverConfig } from '../api/resolver-config.ts';
import { parseServer } from './upstream-servers.ts';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Parses and validates the text of a config file (`file` is only used in messages). */
export function parseResolverConfig(text: string, file: string): ResolverConfig {
  let raw: unknown;
  try {
    raw = text.trimStart().startsWith('{') ? JSON.parse(text) : loadYaml(text);
  } catch (error) {
    throw new ConfigError(`${file}: not valid JSON or YAML: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = resolverConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(top level)'}: ${issue.message}`);
    throw new ConfigError(`${file}: ${problems.join('; ')}`);
  }
  const config = parsed.data;
  const servers: Array<[string, string]> = [
    ...config.upstream.nameservers.map((s, i): [string, string] => [`upstream.nameservers.${i}`, s]),
    ...Object.entries(config.stubDomains).flatMap(([zone, list]) => list.map((s, i): [string, string] => [`stubDomains.${zone}.${i}`, s])),
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

export function loadResolverConfig(file: string): ResolverConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return parseResolverConfig(text, file);
}
