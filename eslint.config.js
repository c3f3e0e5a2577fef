import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

// Layer rules (see DESIGN.md). ESLint's flat config replaces, not merges, a rule
// set again for the same file, so each folder's entry lists every pattern that
// applies there.
const actionsOnlyInAction = {
  group: ['@actions/*'],
  message: 'Only src/action/ may import @actions/*.',
};
const ssh2OnlyInSsh = {
  group: ['ssh2', 'ssh2/*'],
  message: 'Only src/transport/ssh/ may import ssh2: everything else goes through the Transport interface.',
};
const planIsPure = [
  {
    group: ['**/transport/**', '**/transport/*'],
    message:
      'src/plan/ is pure: it gets what a target holds as data (Observed), it never reaches a transport.',
  },
  {
    group: ['node:fs', 'node:fs/*', 'fs', 'fs/*', 'node:child_process', 'child_process'],
    message: 'src/plan/ is pure: no file system, no processes.',
  },
];
const restrict = (...patterns) => ['error', { patterns }];

export default tseslint.config(
  { ignores: ['lib/**', 'dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': restrict(actionsOnlyInAction, ssh2OnlyInSsh),
    },
  },
  { files: ['src/transport/ssh/**'], rules: { 'no-restricted-imports': restrict(actionsOnlyInAction) } },
  {
    files: ['src/plan/**'],
    rules: { 'no-restricted-imports': restrict(actionsOnlyInAction, ssh2OnlyInSsh, ...planIsPure) },
  },
  // Tests and scripts may reach anything (a test drives ssh2 or @actions/* directly).
  {
    files: ['src/action/**', 'test/**', 'scripts/**', 'bench/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
  // Size limits for shipped code: one concept per file, functions a reader can hold.
  // Tests are left out: a describe() callback groups cases and is long by nature.
  {
    files: ['src/**', 'scripts/**', 'bin/**', 'examples/**'],
    rules: {
      'max-lines': ['error', { max: 350, skipBlankLines: true, skipComments: true }],
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
);
