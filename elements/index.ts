/**
 * Every element written in TypeScript: importing this module registers them all (src/index.ts
 * does). One import per file, named like the element.
 */
import './filter-sha256.js';
