/**
 * One numeric setting as a text field, saved when the field is left (or Enter), so typing "600"
 * does not save "6" and "60" on the way. An entry that is no number (or no whole number where one
 * is needed) goes back to the stored value; the core's own refusals show in the page's status.
 */
import { useEffect, useState } from 'react';
import type { Settings } from '../../../../shared/contract/settings.js';
import { useSettings } from '../../stores/settings.js';

type NumberKey = { [K in keyof Settings]: Settings[K] extends number | null ? K : never }[keyof Settings];

export function NumberSetting({
  name,
  label,
  hint,
  settings,
  nullable,
  integer = true,
  min,
}: {
  name: NumberKey;
  label: string;
  hint?: string;
  settings: Settings;
  /** Empty saves null (the default). */
  nullable?: boolean;
  /** Whole numbers only (default); false allows fractions. */
  integer?: boolean;
  min?: number;
}) {
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
    if (t === '' || !(integer ? Number.isInteger(n) : Number.isFinite(n))) {
      setText(stored === null ? '' : String(stored));
      return;
    }
    if (n !== stored) void update({ [name]: n });
  };
  return (
    <label className="row">
      <span>
        {label}
        {hint && <small> {hint}</small>}
      </span>
      <input
        type="number"
        name={name}
        value={text}
        min={min}
        step={integer ? undefined : 'any'}
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
