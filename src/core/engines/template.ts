/** Renders catalog templates: `{{var}}` placeholders replaced by values, argv stays an array (no shell, no word splitting). */
import type { TemplateVar } from './catalog-schema.js';

export type TemplateValues = Partial<Record<TemplateVar, string>>;

/** Thrown when a template uses a variable that has no value for this service. */
export class MissingTemplateValue extends Error {
  constructor(readonly variable: string, readonly template: string) {
    super(`The engine's template "${template}" needs {{${variable}}}, which has no value for this service.`);
  }
}

/** Replaces every `{{var}}`; a variable without a value throws {@link MissingTemplateValue}. */
export function renderTemplate(template: string, values: TemplateValues): string {
  return template.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (_, name: string) => {
    const v = values[name as TemplateVar];
    if (v === undefined) throw new MissingTemplateValue(name, template);
    return v;
  });
}

/** Renders each element of an argv template. */
export function renderArgv(argv: readonly string[], values: TemplateValues): string[] {
  return argv.map((a) => renderTemplate(a, values));
}
