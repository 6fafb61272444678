/** Structured JSON logs (pino) on stdout, one logger per process, passed down explicitly. */
import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger } from 'pino';
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function createLogger(name: string, level: LogLevel = 'info'): Logger {
  return pino({ name, level, base: { component: name }, timestamp: pino.stdTimeFunctions.isoTime });
}
