/**
 * Container limits per Docker engine (the engineResources setting): memory, CPUs and default GPUs,
 * replacing each catalog entry's. Empty fields fall back to the entry; an AIMA_<ENGINE>_* variable
 * still wins over both, which is said here so nobody wonders why a limit does not apply.
 */
import { useEffect, useState } from 'react';
import { EngineResourceOverride, type EngineSummary } from '../../../../shared/contract/index.js';
import { invoke } from '../../api/client.js';
import { useSettings } from '../../stores/settings.js';

type Field = keyof EngineResourceOverride;

const FIELD_NAMES: Record<Field, string> = { memory: 'memory', cpus: 'CPUs', gpus: 'GPUs' };
const FIELD_HINTS: Record<Field, string> = {
  memory: 'use bytes or a number with b, k, m or g, such as 32g',
  cpus: 'use a positive number of cores, such as 8 or 1.5',
  gpus: 'use "all" or GPU indexes such as 0,1',
};

export function EngineResources() {
  const { settings, update } = useSettings();
  const [engines, setEngines] = useState<EngineSummary[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [invalid, setInvalid] = useState<string | null>(null);
  useEffect(() => {
    invoke('engines.list', {}).then(
      (list) => setEngines(list.engines.filter((e) => e.runtime === 'docker' && !e.imageFromService)),
      (err: Error) => setLoadError(err.message),
    );
  }, []);
  if (!settings) return null;
  if (loadError) return <p className="error">Could not list the engines: {loadError}</p>;
  if (!engines) return <p>Loading engines…</p>;

  const save = (engine: EngineSummary, field: Field, raw: string, input: HTMLInputElement) => {
    const current = { ...settings.engineResources[engine.id] };
    const value = raw.trim();
    if (value === '') delete current[field];
    else {
      // Checked here with the setting's own schema, so the message names the field in words.
      const parsed = EngineResourceOverride.shape[field].safeParse(field === 'cpus' ? Number(value) : value);
      if (!parsed.success) {
        setInvalid(`${engine.name}: ${FIELD_NAMES[field]} "${value}" is not valid — ${FIELD_HINTS[field]}.`);
        input.value = String(settings.engineResources[engine.id]?.[field] ?? '');
        return;
      }
      Object.assign(current, { [field]: parsed.data });
    }
    setInvalid(null);
    const engineId = engine.id;
    const next = { ...settings.engineResources };
    if (Object.keys(current).length === 0) delete next[engineId];
    else next[engineId] = current;
    void update({ engineResources: next });
  };

  return (
    <fieldset className="engine-resources">
      <legend>Container limits (Docker engines)</legend>
      <p className="hint">Empty: the engine's own default. An environment variable such as AIMA_VLLM_MEMORY wins over these.</p>
      <table>
        <thead>
          <tr>
            <th>Engine</th>
            <th>Memory</th>
            <th>CPUs</th>
            <th>GPUs when a service names none</th>
          </tr>
        </thead>
        <tbody>
          {engines.map((e) => {
            const o = settings.engineResources[e.id] ?? {};
            // key: a value changed elsewhere (CLI, a refused save) re-renders the uncontrolled inputs.
            const k = (f: Field) => `${e.id}-${f}-${String(o[f] ?? '')}`;
            return (
              <tr key={e.id} data-engine={e.id}>
                <td>{e.name}</td>
                <td>
                  <input key={k('memory')} name={`${e.id}.memory`} aria-label={`${e.name} memory`} defaultValue={o.memory ?? ''} placeholder={e.resources?.memory ?? 'no limit'} onBlur={(ev) => ev.target.value !== (o.memory ?? '') && save(e, 'memory', ev.target.value, ev.target)} />
                </td>
                <td>
                  <input key={k('cpus')} name={`${e.id}.cpus`} aria-label={`${e.name} CPUs`} inputMode="decimal" defaultValue={o.cpus ?? ''} placeholder={e.resources?.cpus !== null && e.resources?.cpus !== undefined ? String(e.resources.cpus) : 'no limit'} onBlur={(ev) => ev.target.value !== String(o.cpus ?? '') && save(e, 'cpus', ev.target.value, ev.target)} />
                </td>
                <td>
                  <input key={k('gpus')} name={`${e.id}.gpus`} aria-label={`${e.name} GPUs`} defaultValue={o.gpus ?? ''} placeholder="all" onBlur={(ev) => ev.target.value !== (o.gpus ?? '') && save(e, 'gpus', ev.target.value, ev.target)} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {invalid && (
        <p className="error" role="alert">
          {invalid}
        </p>
      )}
    </fieldset>
  );
}
