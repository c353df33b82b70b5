/** User settings: one schema, with defaults, shared by the store, the API and the Settings page. */
import { z } from 'zod';

export const quitBehaviours = ['stop-services', 'keep-running'] as const;
export type QuitBehaviour = (typeof quitBehaviours)[number];

/** Each setting's type, without defaults (a patch must not fill in the settings it leaves out). */
const fields = {
  /** Launch AIMA when the user logs in (desktop app only). */
  startAtLogin: z.boolean(),
  /** What happens to services AIMA started when the desktop app quits. */
  onQuit: z.enum(quitBehaviours),
  /** Start a stopped service when a request for its model arrives at the gateway. */
  startOnDemand: z.boolean(),
  /** UI theme. */
  theme: z.enum(['system', 'light', 'dark']),
};

export const Settings = z.object({
  startAtLogin: fields.startAtLogin.default(false),
  onQuit: fields.onQuit.default('stop-services'),
  startOnDemand: fields.startOnDemand.default(true),
  theme: fields.theme.default('system'),
});
export type Settings = z.infer<typeof Settings>;
export type SettingKey = keyof Settings;

/** A partial update: unknown keys are refused so a typo is an error, not a silent no-op. */
export const SettingsPatch = z.object(fields).partial().strict();
export type SettingsPatch = z.infer<typeof SettingsPatch>;

export const defaultSettings: Settings = Settings.parse({});
