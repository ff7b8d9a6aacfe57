import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'dist/', 'coverage/', 'migrations/', 'test-output/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: 'Use the Clock dependency.' }],
    },
  },
  {
    // The domain knows nothing of HTTP or SQL: services and domain helpers import neither hono nor drizzle nor a concrete provider.
    files: ['src/**/*.service.ts', 'src/**/codes.ts', 'src/**/messages.ts', 'src/**/phone.ts', 'src/**/tokens.ts', 'src/**/*.store.ts'],
    ignores: ['src/storage/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['hono', 'hono/*', '@hono/*'], message: 'Domain code must not depend on HTTP.' },
            { group: ['drizzle-orm', 'drizzle-orm/*', 'better-sqlite3', 'pg', 'postgres', 'ioredis'], message: 'Domain code must not depend on a database driver.' },
            { group: ['**/storage/**', '**/*.provider.js'], message: 'Depend on interfaces; deps.ts picks implementations.' },
          ],
        },
      ],
    },
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
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/bench/**', '**/bench'], message: 'Tests do not import bench/ (its own tests live next to it).' }] }] },
  },
  {
    files: ['bench/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/test/**', '**/test'], message: 'bench/ does not import test/: build the app through bench/lib/in-process-app.ts.' }] }] },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
);
