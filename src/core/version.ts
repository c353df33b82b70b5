/** The app version, injected at build time; "dev" when running from source in tests. */
declare const __AIMA_VERSION__: string | undefined;
export const APP_VERSION: string = typeof __AIMA_VERSION__ === 'string' ? __AIMA_VERSION__ : '0.1.0-dev';
