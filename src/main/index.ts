/** Composition root of the desktop app: everything lives in the core; Electron is a shell over it. */
import { runDesktopApp } from './app.js';

runDesktopApp().catch((err) => {
  console.error(err);
  process.exit(1);
});
