/**
 * Checks before a service is created or started, each an AimaError that names the problem and the
 * fix. They run before anything changes, so a refused start leaves nothing half-created.
 */
import { existsSync } from 'node:fs';
import net from 'node:net';
import type { ModelFit, ModelFitParams } from '../../shared/contract/hardware.js';
import type { ModelSummary } from '../../shared/contract/models.js';
import type { Device, ServiceSummary } from '../../shared/contract/services.js';
import { AimaError } from '../../shared/errors.js';
import type { Catalog, CatalogItem } from '../engines/catalog.js';
import type { GpuRef } from '../hardware/types.js';
import { joinHostPort } from '../../shared/host-port.js';


export function requireEngine(catalog: Catalog, id: string): CatalogItem {
  const item = catalog.items.get(id);
  if (!item) {
    throw new AimaError('not-found', `No engine "${id}" in the catalog.`, `Engines are: ${[...catalog.items.keys()].join(', ')} (see \`aima engine list\`).`);
  }
  return item;
}

/**
 * The model fits the engine: kind and format accepted, required model given (a Hugging Face id the
 * engine downloads, `hfModel`, stands for it; hub-model.ts checks the id fits the engine).
 */
export function checkModelForEngine(item: CatalogItem, model: ModelSummary | null, catalog: Catalog, hfModel: string | null = null): void {
  const e = item.entry;
  if (!model) {
    if (e.model.required && hfModel === null) {
      const hub = e.runtime === 'docker' && e.hub ? ', or --hf-model ORG/NAME (a Hugging Face id the engine downloads itself)' : '';
      throw new AimaError('bad-request', `Engine "${e.id}" needs a model.`, `Pass --model NAME (a ${e.model.kinds.join('/')} model in ${e.model.formats.join('/')} format; see \`aima model list\`)${hub}.`);
    }
    return;
  }
  const others = (pred: (c: CatalogItem) => boolean) =>
    [...catalog.items.values()].filter(pred).map((c) => c.entry.id).join(', ') || 'none in the catalog';
  if (!e.model.kinds.includes(model.kind)) {
    throw new AimaError(
      'bad-request',
      `Engine "${e.id}" does not run ${model.kind} models ("${model.name}" is ${model.kind}; it runs ${e.model.kinds.join(', ')}).`,
      `Pick an engine for ${model.kind} models: ${others((c) => c.entry.model.kinds.includes(model.kind))}.`,
    );
  }
  if (!e.model.formats.includes(model.format)) {
    throw new AimaError(
      'bad-request',
      `Engine "${e.id}" does not load ${model.format} models ("${model.name}" is ${model.format}; it loads ${e.model.formats.join(', ')}).`,
      `Pick an engine for ${model.format}: ${others((c) => c.entry.model.formats.includes(model.format) && c.entry.model.kinds.includes(model.kind))}.`,
    );
  }
}

export function checkModelPresent(model: ModelSummary): void {
  if (!existsSync(model.path)) {
    throw new AimaError('not-found', `The files of model "${model.name}" are missing: ${model.path} does not exist.`, `Restore them, or re-import the model (\`aima model import PATH --name ${model.name}\`).`);
  }
}

export function checkDevice(item: CatalogItem, device: Device, gpus: number[]): void {
  if (!item.entry.devices.includes(device)) {
    throw new AimaError('bad-request', `Engine "${item.entry.id}" does not run on ${device} (it runs on ${item.entry.devices.join(', ')}).`, `Use --device ${item.entry.devices[0]}.`);
  }
  if (device === 'cpu' && gpus.length > 0) {
    throw new AimaError('bad-request', '--gpus applies to --device gpu only.', 'Add --device gpu, or leave out --gpus.');
  }
}

/** Every requested GPU index exists on this machine (an empty list means "all", and needs at least one). */
export function checkGpus(requested: number[], available: GpuRef[]): void {
  if (available.length === 0) {
    throw new AimaError('unavailable', 'This service runs on a GPU, but AIMA sees no GPU on this machine.', 'Check the driver (`nvidia-smi`), or recreate the service with --device cpu.');
  }
  const known = new Set(available.map((g) => g.index));
  const bad = requested.filter((i) => !known.has(i));
  if (bad.length > 0) {
    throw new AimaError(
      'bad-request',
      `GPU ${bad.join(', ')} does not exist on this machine.`,
      `Available: ${available.map((g) => `${g.index} (${g.name})`).join(', ')}. Recreate the service with --gpus set to those.`,
    );
  }
}

/** Resolves when `port` can be bound on `host`, else throws EADDRINUSE-style errors as AimaError. */
export function checkPortFree(host: string, port: number, serviceName: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new AimaError('conflict', `Port ${port} of service "${serviceName}" is already in use by another program.`, `Stop that program, or recreate the service with another --port (0 picks a free one at each start).`)
          : new AimaError('unavailable', `Cannot listen on ${joinHostPort(host, port)} for service "${serviceName}": ${err.code ?? err.message}.`, 'Pick another --port.'),
      );
    });
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve()));
  });
}

/** A free port on `host`, chosen by the OS. */
export function allocatePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen({ host, port: 0, exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * What the Hardware layer's fit estimate is asked for a service: its model with its own context
 * size, GPU and parallel slots (llama.cpp splits its context among them).
 */
export function fitParams(service: Pick<ServiceSummary, 'model' | 'ctxSize' | 'device' | 'gpus' | 'concurrency'> & { model: string }): ModelFitParams {
  return {
    name: service.model,
    ...(service.ctxSize ? { ctx: service.ctxSize } : {}),
    ...(service.device === 'gpu' && service.gpus.length > 0 ? { gpu: service.gpus[0] } : {}),
    ...(service.concurrency > 1 ? { parallel: service.concurrency } : {}),
  };
}

/**
 * The fit verdict for a service about to start (its estimate from {@link fitParams}): "does not
 * fit" refuses the start, with the estimate's reason and its suggestions as the fix (and
 * `--ignore-fit`, since an estimate can be wrong). Returns a warning for a GPU service that would
 * run partly or wholly on the CPU; null otherwise.
 */
export function checkFit(service: Pick<ServiceSummary, 'name' | 'device'>, f: ModelFit): string | null {
  const v = f.verdict;
  if (v.kind === 'does-not-fit') {
    const fixes = f.suggestions.map((s) => s.message).join(' ');
    throw new AimaError(
      'unavailable',
      `Service "${service.name}" would not fit in memory: ${v.message}`,
      `${fixes ? `${fixes} ` : ''}To try anyway (the estimate may be wrong): \`aima service start ${service.name} --ignore-fit\`.`,
    );
  }
  if (service.device === 'gpu' && (v.kind === 'partial-offload' || (v.kind === 'fits' && v.device === 'cpu'))) return v.message;
  return null;
}
