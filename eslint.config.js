// One linter for the whole TypeScript tree. Type-aware rules catch what matters most here: floating
// promises (a lost rejection is a lost job), `any`, and misused promises in event handlers.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/**', 'native/**', 'node_modules/**', 'protocols/**/pb/*.ts', 'test/fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's describe/it return promises the runner itself awaits
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['describe', 'it', 'test', 'before', 'after', 'beforeEach', 'afterEach']
            }
          ]
        }
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // async methods that satisfy a Promise-returning interface without awaiting are fine
      '@typescript-eslint/require-await': 'off',
      'no-console': 'error'
    }
  },
  {
    files: ['node/**', 'test/bench/**'],
    rules: { 'no-console': 'off' }
  },
  {
    files: ['eslint.config.js'],
    extends: [tseslint.configs.disableTypeChecked]
  }
)
