// ESLint (flat config): typescript-eslint's recommended rules, import cycles, and the direction of
// the layers. `npm run lint` runs it with Prettier's check; CI fails on any error.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import { configs as tsConfigs } from 'typescript-eslint';
import { defineConfig } from 'eslint/config';

const SERVICES = ['web', 'ftp', 'internal-db'];

export default defineConfig(
  { ignores: ['dist/**', 'node_modules/**', 'lib/sendfile/build/**', 'var/**', 'bench/results/**'] },
  js.configs.recommended,
  tsConfigs.recommended,
  importX.flatConfigs.recommended,
  importX.flatConfigs.typescript,
  {
    files: ['**/*.ts'],
    languageOptions: { ecmaVersion: 'latest', sourceType: 'module' },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })] },
    rules: {
      // `any` only with a comment that says why (an eslint-disable line carries it).
      '@typescript-eslint/no-explicit-any': 'error',
      // Unused names fail the build already (tsconfig noUnused*); `_name` marks one left on purpose.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // A getter in an object literal cannot be an arrow: it reaches its owner by a named alias.
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['peer', 'channel'] }],
      'import-x/no-cycle': 'error',
      'import-x/no-self-import': 'error',
      'import-x/no-duplicates': 'error',
      'import-x/no-useless-path-segments': 'error',
      // Layers point one way: lib ← services ← scripts; one service never imports another's files.
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              target: './lib',
              from: ['./services', './scripts', './bench', './test'],
              message: 'lib is shared by all: it imports nothing from services, scripts, bench or test.',
            },
            {
              target: './services',
              from: ['./scripts', './bench', './test'],
              message: 'a service imports nothing from scripts, bench or test (move what both need into lib).',
            },
            ...SERVICES.map((service) => ({
              target: `./services/${service}`,
              from: SERVICES.filter((other) => other !== service).map((other) => `./services/${other}`),
              message: "one service never imports another service's files: what they share is a contract in lib/contracts.",
            })),
          ],
        },
      ],
      // Refusing control characters is what several of our patterns are for.
      'no-control-regex': 'off',
      // ssh2, node-rsa and koa-router are CommonJS: their default export is the module, as we use it.
      'import-x/no-named-as-default': 'off',
      'import-x/no-named-as-default-member': 'off',
    },
  },
  prettier,
  {
    // After Prettier's config (which turns max-len off): lines in lib and services stay readable.
    // Prettier wraps code at 160; what it cannot wrap (a long string, a comment) is ours to.
    files: ['lib/**/*.ts', 'services/**/*.ts'],
    rules: { 'max-len': ['error', { code: 160, ignoreUrls: true, ignoreRegExpLiterals: true }] },
  },
);
