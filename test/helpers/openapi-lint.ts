import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import SwaggerParser from '@apidevtools/swagger-parser';

/**
 * openapi.yaml through the three linters integrators run on a published API, from the dev
 * dependencies, offline: `npm run lint:openapi` prints their findings, and
 * test/http/openapi.lint.test.ts fails on any error or on more warnings than the budget.
 */

const ROOT = resolve(import.meta.dirname, '../..');
/** Warnings allowed per linter; each one that remains is explained in redocly.yaml or .spectral.yaml. */
export const WARNING_BUDGET = 10;

export interface LintFinding {
  rule: string;
  message: string;
  /** A JSON pointer (or path) into the document. */
  where: string;
}

export interface LintResult {
  linter: 'redocly' | 'swagger-parser' | 'spectral';
  /** What was run, to say so in a failure message. */
  command: string;
  errors: LintFinding[];
  /** Everything below error (infos and hints too): the budget is for all of them. */
  warnings: LintFinding[];
}

export type Linter = (file: string) => Promise<LintResult>;

function run(bin: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    const child = execFile(
      process.execPath,
      [resolve(ROOT, 'node_modules/.bin', bin), ...args],
      {
        cwd: ROOT,
        maxBuffer: 64 * 1024 * 1024,
        // Redocly's telemetry and its update check (a request to registry.npmjs.org) stay off: nothing leaves the machine.
        env: {
          ...process.env,
          REDOCLY_TELEMETRY: 'off',
          REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
          NO_COLOR: '1',
        },
      },
      // Both exit non-zero when they find errors; the JSON on stdout is the answer either way.
      (error, stdout, stderr) =>
        stdout.trim() === '' && error
          ? reject(new Error(`${bin} failed: ${error.message}\n${stderr}`))
          : resolveRun({ stdout, stderr }),
    );
    child.stdin?.end();
  });
}

interface RedoclyReport {
  totals: { errors: number; warnings: number };
  problems: {
    ruleId: string;
    severity: string;
    message: string;
    location: { pointer?: string }[];
  }[];
}

/** `redocly lint` with its recommended rules (redocly.yaml). */
export const redocly: Linter = async (file) => {
  const args = ['lint', file, '--config', resolve(ROOT, 'redocly.yaml'), '--format=json'];
  const { stdout } = await run('redocly', args);
  const report = JSON.parse(stdout) as RedoclyReport;
  const findings = report.problems.map((p) => ({
    severity: p.severity,
    rule: p.ruleId,
    message: p.message,
    where: p.location[0]?.pointer ?? '',
  }));
  return {
    linter: 'redocly',
    command: `redocly ${args.join(' ')}`,
    errors: findings
      .filter((f) => f.severity === 'error')
      .map(({ rule, message, where }) => ({ rule, message, where })),
    warnings: findings
      .filter((f) => f.severity !== 'error')
      .map(({ rule, message, where }) => ({ rule, message, where })),
  };
};

interface SpectralFinding {
  code: string | number;
  message: string;
  /** 0 error, 1 warning, 2 information, 3 hint. */
  severity: number;
  path: (string | number)[];
}

/** `spectral lint` with the spectral:oas ruleset (.spectral.yaml). */
export const spectral: Linter = async (file) => {
  const args = [
    'lint',
    '--ruleset',
    resolve(ROOT, '.spectral.yaml'),
    '--format',
    'json',
    '--quiet',
    file,
  ];
  const { stdout } = await run('spectral', args);
  const findings = (JSON.parse(stdout) as SpectralFinding[]).map((f) => ({
    severity: f.severity,
    rule: String(f.code),
    message: f.message,
    where: f.path.join('.'),
  }));
  return {
    linter: 'spectral',
    command: `spectral ${args.join(' ')}`,
    errors: findings
      .filter((f) => f.severity === 0)
      .map(({ rule, message, where }) => ({ rule, message, where })),
    warnings: findings
      .filter((f) => f.severity !== 0)
      .map(({ rule, message, where }) => ({ rule, message, where })),
  };
};

/** @apidevtools/swagger-parser's validate (the OpenAPI 3.1 schema, then its own checks); it has no CLI, and knows no warnings. */
export const swaggerParser: Linter = async (file) => {
  const errors: LintFinding[] = [];
  try {
    await SwaggerParser.validate(file);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const lines = message
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    const details = lines.slice(1);
    for (const line of details.length > 0 ? details : lines)
      errors.push({ rule: 'validate', message: line, where: /^(#\S*)/.exec(line)?.[1] ?? '' });
  }
  return {
    linter: 'swagger-parser',
    command: `SwaggerParser.validate('${file}')`,
    errors,
    warnings: [],
  };
};

export const LINTERS: Record<LintResult['linter'], Linter> = {
  redocly,
  'swagger-parser': swaggerParser,
  spectral,
};

/** Why a result fails: any error, or more warnings than the budget. Empty when it passes. */
export function verdict(result: LintResult, budget = WARNING_BUDGET): string[] {
  const failures = result.errors.map(
    (e) => `${result.linter}: error ${e.rule} at ${e.where}: ${e.message}`,
  );
  if (result.warnings.length > budget)
    failures.push(
      `${result.linter}: ${result.warnings.length} warnings, more than the budget of ${budget}`,
    );
  return failures;
}

export function describeResult(result: LintResult): string {
  const lines = [
    `${result.linter}: ${result.errors.length} errors, ${result.warnings.length} warnings (${result.command})`,
  ];
  for (const e of result.errors) lines.push(`  error    ${e.rule}  ${e.where}  ${e.message}`);
  for (const w of result.warnings) lines.push(`  warning  ${w.rule}  ${w.where}  ${w.message}`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const file = resolve(process.argv[2] ?? resolve(ROOT, 'openapi.yaml'));
  let failed = false;
  for (const lint of Object.values(LINTERS)) {
    const result = await lint(file);
    console.log(describeResult(result));
    const failures = verdict(result);
    for (const failure of failures) console.error(`FAIL ${failure}`);
    failed ||= failures.length > 0;
  }
  process.exitCode = failed ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href)
  await main();
