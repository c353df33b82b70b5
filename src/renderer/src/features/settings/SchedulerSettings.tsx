/**
 * The scheduler's settings: how much memory services may take together, when services started on
 * demand stop for idleness, and the anti-thrash window. Numbers are saved when the field is left
 * (or Enter), so typing "600" does not save "6" and "60" on the way; the core refuses a cap beyond
 * the machine and the page shows its message.
 */
import { useEffect, useState } from 'react';
import type { Settings } from '../../../../shared/contract/settings.js';
import { useSettings } from '../../stores/settings.js';

type NumberKey = 'servicesMemoryCapMiB' | 'onDemandIdleTtlSeconds' | 'antiThrashSeconds';

function NumberSetting({ name, label, hint, settings, nullable }: { name: NumberKey; label: string; hint: string; settings: Settings; nullable?: boolean }) {
  const { update } = useSettings();
  const stored = settings[name];
  const [text, setText] = useState(stored === null ? '' : String(stored));
  useEffect(() => setText(stored === null ? '' : String(stored)), [stored]);
  const commit = () => {
    const t = text.trim();
    if (t === '' && nullable) {
      if (stored !== null) void update({ [name]: null });
      return;
    }
    const n = Number(t);
    if (t === '' || !Number.isInteger(n)) {
      setText(stored === null ? '' : String(stored));
      return;
    }
    if (n !== stored) void update({ [name]: n });
  };
  return (
    <label className="row">
      <span>
        {label}
        <small> {hint}</small>
      </span>
      <input
        type="number"
        name={name}
        value={text}
        placeholder={nullable ? 'default' : undefined}
        onChange={(e) => setText(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => {
          if (e.key === 'Enter') commit();
        }}
      />
    </label>
  );
}

export function SchedulerSettings() {
  const { settings } = useSettings();
  if (!settings) return null;
  return (
    <fieldset className="scheduler-settings">
      <legend>Memory and idle services</legend>
      <NumberSetting name="servicesMemoryCapMiB" nullable settings={settings} label="Memory services may use together (MiB)" hint="(empty: all RAM but a reserve for the system; idle services stop to stay within it)" />
      <NumberSetting name="onDemandIdleTtlSeconds" settings={settings} label="Stop a service started on demand after this many idle seconds" hint="(0: never; a service's own idle TTL wins)" />
      <NumberSetting name="antiThrashSeconds" settings={settings} label="Do not stop a service started less than this many seconds ago to make room" hint="(prevents two services evicting each other)" />
    </fieldset>
  );
}
