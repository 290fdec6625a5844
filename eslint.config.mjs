import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  { ignores: ['node_modules/', '.sts/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // Money and ids are bigint; a stray parseFloat/Number() on them is how precision dies.
      'no-restricted-globals': ['error', { name: 'parseFloat', message: 'No floats in money paths.' }],
    },
  },
  {
    files: ['bin/**/*.js', '*.config.js', 'test/fixtures/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', process: 'readonly', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The dashboard runs in the browser, as a classic script.
    files: ['ops/dashboard/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: { window: 'readonly', document: 'readonly', fetch: 'readonly', sessionStorage: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', console: 'readonly', Blob: 'readonly', URL: 'readonly', CSS: 'readonly', uPlot: 'readonly' },
    },
  },
);
