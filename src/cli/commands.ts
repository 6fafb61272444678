/** The CLI's commands: a summary for `--help` and a lazy loader of the module that runs it. */

export interface CommandModule {
  /** Runs the command with its arguments (after the command name); resolves to the exit code. */
  readonly run: (args: string[]) => Promise<number>;
}

export interface Command {
  readonly summary: string;
  readonly load: () => Promise<CommandModule>;
}

export const commands: Record<string, Command> = {
  compare: { summary: 'ask two resolvers the same questions and print every difference', load: () => import('./compare.ts') },
  operator: { summary: 'run the ClusterDNS controller and the injection webhook against a cluster', load: () => import('./operator.ts') },
  resolver: { summary: 'serve cluster DNS from a watch cache of the apiserver (the DNS server of an instance)', load: () => import('./resolver.ts') },
  local: { summary: 'run the whole product on this machine (control plane, operator, resolvers)', load: () => import('./local.ts') },
};
