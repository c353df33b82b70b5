/**
 * The `aima` command: every command is a client of the core's API (except `serve`, which hosts
 * it), one file per command in ./commands.
 */
import { Command } from 'commander';
import { APP_VERSION } from '../core/version.js';
import { envSpecs } from '../core/config/env.js';
import { registerServe } from './commands/serve.js';
import { registerStatus } from './commands/status.js';
import { registerStop } from './commands/stop.js';
import { registerSettings } from './commands/settings.js';
import { registerModel } from './commands/model/index.js';
import { registerKey } from './commands/key.js';
import { registerRemote } from './commands/remote.js';
import { registerNode } from './commands/node.js';
import { registerRequests } from './commands/requests.js';
import { registerService } from './commands/service/index.js';
import { registerEngine } from './commands/engine.js';
import { registerGpu } from './commands/gpu.js';
import { registerVoice } from './commands/voice/index.js';

const program = new Command()
  .name('aima')
  .description('AIMA: local LLM, speech recognition and text-to-speech services on this machine')
  .version(APP_VERSION)
  .showHelpAfterError('(run `aima --help` for usage)')
  .addHelpText(
    'after',
    () => {
      const width = Math.max(...Object.keys(envSpecs).map((name) => name.length));
      return '\nEnvironment:\n' + Object.entries(envSpecs).map(([name, spec]) => `  ${name.padEnd(width)} ${spec.description}`).join('\n');
    },
  );

registerServe(program);
registerStatus(program);
registerStop(program);
registerSettings(program);
registerModel(program);
registerKey(program);
registerRemote(program);
registerRequests(program);
registerService(program);
registerNode(program);
registerEngine(program);
registerGpu(program);
registerVoice(program);

program.exitOverride((err) => {
  // commander already printed the message; keep its exit code (0 for --help/--version).
  process.exit(err.exitCode);
});

await program.parseAsync(process.argv);
