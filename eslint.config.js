import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'data/', 'coverage/', 'test-output/', 'bench-output/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']",
          message: 'Use the Clock (src/clock.ts); Date.now() is only read there.',
        },
      ],
    },
  },
  {
    files: ['src/clock.ts', 'src/web/format.ts', 'scripts/**', 'test/**'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    // Tests read JSON answers whose shape they then assert.
    files: ['test/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['src/domain/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['fastify', '@fastify/*', 'ws', 'better-sqlite3', 'pg', 'pino'],
              message: 'The domain core stays framework-free.',
            },
            {
              group: ['../http/*', '../ws/*', '../store/store-*'],
              message: 'The domain core does not import adapters.',
            },
          ],
        },
      ],
    },
  },
);
