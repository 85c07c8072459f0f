import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.gridflex-data/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['optimizer/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/services/**', '**/grid-adapters/**', 'pg', 'ws', 'express', 'mqtt', 'node:fs', 'node:net', 'node:http'], message: 'optimizer/ is pure: no I/O and no imports from outer layers.' }] }],
    },
  },
  {
    files: ['grid-adapters/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/services/**', 'pg', 'ws', 'express', 'mqtt', 'node:fs', 'node:net', 'node:http'], message: 'grid-adapters/ is pure: no I/O and no imports from services/.' }] }],
    },
  },
);
