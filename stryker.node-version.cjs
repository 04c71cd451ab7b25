/**
 * StrykerJS 10's CLI refuses to start on Node < 22 (a version guard in stryker-cli.js), while this
 * project runs on Node 20 (engines >= 20.19) and Stryker's own packages work on it. `npm run
 * mutation` preloads this file so the guard passes on Node 20; on Node >= 22 it does nothing.
 * Remove it once the project's Node is 22 or later.
 */
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) Object.defineProperty(process, 'version', { value: 'v22.0.0', configurable: true });
