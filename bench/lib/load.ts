import { Agent, request, type ClientRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';

/** What one load run measured, whichever tool produced it. */
export interface Measurement {
  /** Responses received (any status). */
  requests: number;
  seconds: number;
  reqPerSec: number;
  /** Latency from the moment a request was written to its full response. */
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  /** Connection errors and timeouts (autocannon counts timeouts among errors too). */
  errors: number;
  timeouts: number;
  /** Responses by HTTP status. */
  statusCodes: Record<string, number>;
  /** Set when the run stopped before its duration (its pool of verifications ran out). */
  stoppedEarly?: string;
}

/** A paced run also knows when each request was due: latency from then counts the queueing a late start hid. */
export interface PacedMeasurement extends Measurement {
  targetRate: number;
  /** Requests still waiting for a connection when the duration was over: the server was behind the rate. */
  notSent: number;
  latencyFromScheduleMs: { p50: number; p90: number; p99: number; max: number };
}

export interface CannonOptions {
  url: string;
  connections: number;
  durationSeconds: number;
  requests: autocannon.Request[];
  /** autocannon's overallRate: at most this many requests per second, in a per-second window. */
  overallRate?: number;
  /** Stop after this many requests instead of after `durationSeconds`. */
  amount?: number;
}

/**
 * Closed-loop load with autocannon: `connections` keep-alive connections, each sending its next
 * request when the previous answered. `stop` (from a setupRequest, e.g. a spent pool) ends the run early.
 */
export function cannon(
  options: CannonOptions,
  control?: { onInstance(stop: (why: string) => void): void },
): Promise<Measurement> {
  return new Promise((resolvePromise, reject) => {
    let stoppedEarly: string | undefined;
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.durationSeconds,
        requests: options.requests,
        ...(options.overallRate ? { overallRate: options.overallRate } : {}),
        ...(options.amount ? { amount: options.amount } : {}),
        timeout: 30,
      },
      (error: unknown, result) => {
        if (error) {
          reject(error instanceof Error ? error : new Error('autocannon failed', { cause: error }));
          return;
        }
        const statusCodes = Object.fromEntries(
          Object.entries(result.statusCodeStats ?? {}).map(([status, stat]) => [
            status,
            stat.count ?? 0,
          ]),
        );
        const requests = Object.values(statusCodes).reduce((sum, n) => sum + n, 0);
        const seconds = result.duration;
        resolvePromise({
          requests,
          seconds,
          reqPerSec: Math.round(requests / seconds),
          latencyMs: {
            p50: result.latency.p50,
            p90: result.latency.p90,
            p99: result.latency.p99,
            max: result.latency.max,
          },
          errors: result.errors,
          timeouts: result.timeouts,
          statusCodes,
          ...(stoppedEarly ? { stoppedEarly } : {}),
        });
      },
    );
    control?.onInstance((why) => {
      if (stoppedEarly) return;
      stoppedEarly = why;
      instance.stop();
    });
  });
}

export interface PacedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

function percentiles(values: Float64Array): { p50: number; p90: number; p99: number; max: number } {
  const sorted = values.slice().sort();
  const at = (q: number): number =>
    sorted.length === 0
      ? 0
      : Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 100) / 100;
  return {
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: sorted.length === 0 ? 0 : Math.round(sorted[sorted.length - 1]! * 100) / 100,
  };
}

/**
 * Open-loop load at a steady rate: request i is due at start + i/rate, whatever the answers to the
 * previous ones, over at most `connections` keep-alive sockets (beyond that, requests wait for a
 * socket, and that wait counts in latency from schedule). autocannon's overallRate instead lets
 * each connection send its share back to back at the top of every second: a burst of
 * `connections` concurrent requests, then silence, so its p99 is the saturated p99 at that
 * concurrency rather than latency at the rate.
 * A second after the duration is over, requests still waiting for a connection are dropped and counted in
 * `notSent` (the server could not keep up), so a rate beyond capacity does not stretch the run.
 * `next()` returning undefined ends the run early (a pool of verifications ran out).
 */
export async function paced(options: {
  url: string;
  rate: number;
  durationSeconds: number;
  connections: number;
  next: () => PacedRequest | undefined;
}): Promise<PacedMeasurement> {
  const target = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const total = Math.round(options.rate * options.durationSeconds);
  const sent = new Float64Array(total);
  const fromSend = new Float64Array(total);
  const fromSchedule = new Float64Array(total);
  const statusCodes: Record<string, number> = {};
  let issued = 0;
  let done = 0;
  let errors = 0;
  let timeouts = 0;
  let notSent = 0;
  let stoppedEarly: string | undefined;
  const waiting = new Map<number, ClientRequest>();
  const started = performance.now();
  let lastDone = started;

  const dropped = new WeakSet<ClientRequest>();
  await new Promise<void>((resolveRun) => {
    const finishIfDone = (): void => {
      if (done + errors + notSent === issued && (issued === total || stoppedEarly)) {
        clearInterval(timer);
        resolveRun();
      }
    };
    const fire = (i: number, due: number, spec: PacedRequest): void => {
      const req = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          method: spec.method,
          path: spec.path,
          headers:
            spec.body === undefined
              ? spec.headers
              : { ...spec.headers, 'content-length': String(Buffer.byteLength(spec.body)) },
          timeout: 30_000,
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            const now = performance.now();
            fromSend[done] = now - sent[i]!;
            fromSchedule[done] = now - due;
            statusCodes[String(res.statusCode)] = (statusCodes[String(res.statusCode)] ?? 0) + 1;
            done++;
            lastDone = now;
            finishIfDone();
          });
        },
      );
      waiting.set(i, req);
      req.on('socket', () => {
        waiting.delete(i);
        sent[i] = performance.now();
      });
      req.on('timeout', () => {
        timeouts++;
        req.destroy(new Error('timeout'));
      });
      req.on('error', () => {
        if (dropped.has(req)) notSent++;
        else errors++;
        finishIfDone();
      });
      req.end(spec.body);
    };
    const timer = setInterval(() => {
      const due = Math.min(
        total,
        Math.floor(((performance.now() - started) * options.rate) / 1000),
      );
      while (issued < due && !stoppedEarly) {
        const spec = options.next();
        if (!spec) {
          stoppedEarly = `pool ran out after ${Math.round(performance.now() - started) / 1000} s`;
          break;
        }
        const i = issued++;
        sent[i] = performance.now();
        fire(i, started + (i * 1000) / options.rate, spec);
      }
      // A second of grace: the last requests of the schedule are waiting for a socket only briefly.
      if (
        issued === total &&
        waiting.size > 0 &&
        performance.now() - started >= options.durationSeconds * 1000 + 1000
      ) {
        for (const req of waiting.values()) {
          dropped.add(req);
          req.destroy();
        }
        waiting.clear();
      }
      finishIfDone();
    }, 1);
  });
  agent.destroy();
  const seconds = (lastDone - started) / 1000;
  return {
    requests: done,
    seconds,
    reqPerSec: Math.round(done / seconds),
    targetRate: options.rate,
    notSent,
    latencyMs: percentiles(fromSend.subarray(0, done)),
    latencyFromScheduleMs: percentiles(fromSchedule.subarray(0, done)),
    errors,
    timeouts,
    statusCodes,
    ...(stoppedEarly ? { stoppedEarly } : {}),
  };
}
