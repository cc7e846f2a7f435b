/**
 * Tracing for the CLI's own roles (publisher, flag subscriber), so one trace runs from the
 * published transaction through the scorer to whoever reads the flag. Off unless an OTLP
 * endpoint is given (--otel-endpoint or FRAUD_OTEL_ENDPOINT).
 */
import type { Command } from 'commander';
import { startTelemetry, type Telemetry } from '../../scorer/src/telemetry/otel.js';
import { SERVICE_VERSION } from '../../scorer/src/version.js';

export interface TraceOptions {
  otelEndpoint?: string;
  traceRatio: number;
}

export function addTraceOptions(cmd: Command): Command {
  return cmd
    .option('--otel-endpoint <url>', 'OTLP/HTTP endpoint for traces (default FRAUD_OTEL_ENDPOINT; none: no tracing)')
    .option('--trace-ratio <r>', 'share of new traces sampled, 0..1', (v) => Number(v), 1);
}

export function cliTelemetry(serviceName: string, opts: TraceOptions): Telemetry | undefined {
  const endpoint = opts.otelEndpoint ?? process.env.FRAUD_OTEL_ENDPOINT ?? '';
  if (!endpoint) return undefined;
  if (!(opts.traceRatio >= 0 && opts.traceRatio <= 1)) throw new Error('--trace-ratio must be between 0 and 1');
  return startTelemetry({ serviceName, serviceVersion: SERVICE_VERSION, endpoint, sampleRatio: opts.traceRatio });
}
