#!/usr/bin/env node
// The `xfa` command. Runs the compiled CLI (dist/, made by `npm run build`, which `npm install`
// runs); in a checkout without dist/ — or with XFA_FROM_SOURCE=1, as the tests do, so a stale
// dist/ is never what they test — it runs the TypeScript sources through tsx.
import { existsSync } from 'node:fs';

const dist = new URL('../dist/src/cli/main.js', import.meta.url);
if (existsSync(dist) && !process.env.XFA_FROM_SOURCE) {
  await import(dist.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
