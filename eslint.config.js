import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/**
 * Which way imports run in src/. Capability folders are layered: a folder's domain files (services,
 * stores, rules: everything but its HTTP files) may import only folders of a lower rank. HTTP files
 * (src/http/, *.routes.ts, *.router.ts, *.auth.ts, the twilio-verify/ adapter) sit on top of the domain and may import any of
 * it; domain files import no HTTP. Only the composition root (src/*.ts, src/wiring/) chooses
 * implementations: storage, Redis and concrete providers are imported nowhere else.
 */
const RANKS = {
  platform: 0,
  events: 1,
  tokens: 1,
  admin: 1,
  delivery: 2,
  limits: 3,
  verification: 4,
  factors: 5,
  optin: 5,
  reports: 5,
  'twilio-verify': 5,
  jobs: 6,
  // Outgoing webhooks: endpoints, signing, SSRF guard, the outbox worker (secrets sealed by factors/secret-box.ts).
  webhooks: 6,
};
// twilio-verify/ is an HTTP adapter onto the services as a whole (Twilio's wire format in and out).
const HTTP_FILES = [
  'src/http/**',
  'src/**/*.routes.ts',
  'src/**/*.router.ts',
  'src/**/*.auth.ts',
  'src/twilio-verify/**',
];
const IMPLEMENTATIONS = {
  group: ['**/storage/**', '**/wiring/**', '**/*.provider.js'],
  message:
    'Depend on interfaces; only the composition root (deps.ts, wiring/) picks implementations.',
};
const NO_HTTP = [
  { group: ['hono', 'hono/*', '@hono/*'], message: 'Domain code must not depend on HTTP.' },
  {
    group: ['**/http/**', '**/*.routes.js', '**/*.router.js'],
    message: 'Domain code must not import the HTTP layer.',
  },
];
const NO_DRIVERS = {
  group: ['drizzle-orm', 'drizzle-orm/*', 'better-sqlite3', 'pg', 'postgres', 'ioredis'],
  message: 'Domain code must not depend on a database driver.',
};
const layering = Object.entries(RANKS).map(([folder, rank]) => {
  const above = Object.entries(RANKS)
    .filter(([other, r]) => other !== folder && r >= rank)
    .map(([other]) => `**/${other}/**`);
  const layer =
    above.length > 0
      ? [
          {
            group: above,
            message: `${folder}/ (rank ${rank}) may import only lower-ranked capabilities; see RANKS in eslint.config.js.`,
          },
        ]
      : [];
  return {
    files: [`src/${folder}/**/*.ts`],
    ignores: HTTP_FILES,
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [...NO_HTTP, NO_DRIVERS, IMPLEMENTATIONS, ...layer] },
      ],
    },
  };
});
layering.push({
  files: HTTP_FILES,
  rules: { 'no-restricted-imports': ['error', { patterns: [NO_DRIVERS, IMPLEMENTATIONS] }] },
});

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'data/',
      'dist/',
      'coverage/',
      'migrations/',
      'test-output/',
      'bench/results/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']",
          message: 'Use the Clock dependency.',
        },
      ],
    },
  },
  ...layering,
  {
    // Import circles hide which way a dependency runs; none is allowed in src/.
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      ...importX.flatConfigs.typescript.settings,
      'import-x/resolver-next': [createTypeScriptImportResolver()],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    files: ['src/main.ts', 'src/cli.ts', 'test/**', 'bench/**', 'src/platform/clock.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    files: ['test/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // The bench measures the product as it ships, not as the tests build it; the tests do not rest on bench code.
    files: ['test/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/bench/**', '**/bench'],
              message: 'Tests do not import bench/ (its own tests live next to it).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['bench/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/test/**', '**/test'],
              message:
                'bench/ does not import test/: build the app through bench/lib/in-process-app.ts.',
            },
          ],
        },
      ],
    },
  },
  {
    // Services read as short named functions taking their dependencies; the factory only binds them.
    files: ['src/**/*.service.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    // Wiring only composes: files, secrets and the spec are read outside it (wiring/secrets.ts,
    // wiring/openapi-file.ts), and what it builds stays readable on one screen or two.
    files: ['src/deps.ts'],
    rules: {
      'max-lines': ['error', { max: 200 }],
      'no-restricted-imports': [
        'error',
        {
          paths: ['fs', 'node:fs', 'fs/promises', 'node:fs/promises'].map((name) => ({
            name,
            message: 'deps.ts has no side effects: read files in wiring/ and pass what they give.',
          })),
        },
      ],
    },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
);
