// ESLint flat config: eslint's and typescript-eslint's recommended rules, plus a few
// type-aware rules that catch real bugs (unhandled or misused promises, awaiting a
// non-promise, objects printed as "[object Object]", non-exhaustive switches, `==`).
// Formatting is Prettier's job (`prettier --check .`), not ESLint's.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "cdktf.out/", "cdktf.out.*/", "deployment/", "coverage/", ".rehearsal/", ".gen/", ".build/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
      "@typescript-eslint/require-await": "error",
      "@typescript-eslint/no-unnecessary-type-assertion": "error",
      "@typescript-eslint/switch-exhaustiveness-check": "error",
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true, allowBoolean: true }],
      "@typescript-eslint/no-base-to-string": "error",
      // `const { "//": _meta, ...body } = resource` drops a key on purpose.
      "@typescript-eslint/no-unused-vars": ["error", { ignoreRestSiblings: true }],
      eqeqeq: ["error", "always"],
    },
  },
  // A function longer than a screen hides its steps: split it into named ones. Blank lines and
  // comments do not count. Tests are exempt: a describe() callback is a list of cases, each short,
  // and splitting it would only scatter them.
  {
    files: ["src/**/*.ts", "main.ts", "rehearse/**/*.ts", "tools/**/*.ts", "tools/**/*.js", "bench/**/*.ts"],
    rules: { "max-lines-per-function": ["error", { max: 80, skipBlankLines: true, skipComments: true }] },
  },
  // jest.config.js is CommonJS, run by node.
  {
    files: ["**/*.js"],
    languageOptions: { sourceType: "commonjs", globals: { module: "writable", require: "readonly", __dirname: "readonly" } },
  },
  // The AWS stand-in: plain CommonJS run by node (no build step: it starts on every call).
  {
    files: ["**/*.cjs"],
    languageOptions: {
      sourceType: "commonjs",
      globals: { module: "writable", require: "readonly", __dirname: "readonly", process: "readonly" },
    },
    rules: {
      "@typescript-eslint/no-require-imports": "off",
      "no-unused-vars": "off",
      "@typescript-eslint/no-unused-vars": ["error", { ignoreRestSiblings: true, varsIgnorePattern: "^_", argsIgnorePattern: "^_" }],
      "max-lines-per-function": ["error", { max: 80, skipBlankLines: true, skipComments: true }],
      eqeqeq: ["error", "always"],
    },
  },
);
