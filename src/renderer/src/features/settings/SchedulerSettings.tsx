/**
 * The scheduler's settings: how much memory services may take together, when services started on
 * demand stop for idleness, and the anti-thrash window. Each number is saved when its field is
 * left (NumberSetting); the core refuses a cap beyond the machine and the page shows its message.
 */
import { useSettings } from '../../stores/settings.js';
import { NumberSetting } from './NumberSetting.js';

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
