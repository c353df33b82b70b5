/** `aima model …`: the model library. */
import path from 'node:path';
import type { Command } from 'commander';
import { modelKinds, type ModelKind } from '../../../shared/contract/enums.js';
import { AimaError } from '../../../shared/errors.js';
import { action, output, withConnection } from '../../context.js';
import { withProgress } from '../../progress.js';
import { details, size, table } from './format.js';
import { registerFit } from './fit.js';
import { registerPull } from './pull.js';

export function registerModel(program: Command): void {
  const model = program.command('model').description('Import and manage models');
  registerFit(model);
  registerPull(model);

  model
    .command('import <path>')
    .description('Import a model file or folder (GGUF, Hugging Face safetensors, ONNX, sherpa-onnx)')
    .option('--name <name>', 'name to use (default: from the model)')
    .option('--kind <kind>', `override the detected kind (${modelKinds.join('|')})`)
    .option('--link', 'use the files where they are (default)')
    .option('--copy', 'copy the files into the data directory')
    .option('--json', 'print JSON')
    .action(
      action(async (p: string, opts: { name?: string; kind?: string; link?: boolean; copy?: boolean; json?: boolean }) => {
        if (opts.link && opts.copy) throw new AimaError('bad-request', '--link and --copy exclude each other.', 'Pick one.');
        if (opts.kind && !(modelKinds as readonly string[]).includes(opts.kind)) {
          throw new AimaError('bad-request', `Unknown kind "${opts.kind}".`, `Kinds are: ${modelKinds.join(', ')}.`);
        }
        // Resolve against the caller's directory here: the core may run elsewhere. Keep `..` visible to the core's check.
        const abs = path.isAbsolute(p) ? p : path.join(process.cwd(), p);
        await withConnection(async (conn) => {
          const m = await withProgress(conn, (operationId) =>
            conn.api['models.import']({ path: abs, name: opts.name, kind: opts.kind as ModelKind | undefined, mode: opts.copy ? 'copy' : 'link', operationId }),
          );
          output(opts.json, m, (x) => `Imported "${x.name}" (${x.kind}, ${x.format}, ${size(x.sizeBytes)}).\n${details(x)}`);
        });
      }),
    );

  model
    .command('list')
    .alias('ls')
    .description('List imported models')
    .option('--json', 'print JSON')
    .action(
      action(async (opts: { json?: boolean }) => {
        await withConnection(async (conn) => {
          output(opts.json, await conn.api['models.list']({}), table);
        });
      }),
    );

  model
    .command('show <name>')
    .description('Show what a model is')
    .option('--json', 'print JSON')
    .action(
      action(async (name: string, opts: { json?: boolean }) => {
        await withConnection(async (conn) => {
          output(opts.json, await conn.api['models.get']({ name }), details);
        });
      }),
    );

  model
    .command('rename <name> <new-name>')
    .description('Rename a model')
    .action(
      action(async (name: string, newName: string) => {
        await withConnection(async (conn) => {
          const m = await conn.api['models.rename']({ name, newName });
          process.stdout.write(`Renamed "${name}" to "${m.name}".\n`);
        });
      }),
    );

  model
    .command('rm <name>')
    .alias('remove')
    .description('Remove a model from the library (files are deleted only for copies)')
    .action(
      action(async (name: string) => {
        await withConnection(async (conn) => {
          const r = await conn.api['models.remove']({ name });
          process.stdout.write(r.deletedFiles ? `Removed "${name}" and deleted its copy.\n` : `Removed "${name}"; its files stay at ${r.path}.\n`);
        });
      }),
    );
}
