/**
 * Every element written in TypeScript: importing this module registers them all (src/index.ts
 * does). One import per file, named like the element.
 */
import './filter-sha256.js';
import './source-ssh.js';
import './dest-ssh.js';
import './source-sftp.js';
import './dest-sftp.js';
import './dest-s3.js';
import './source-s3.js';
