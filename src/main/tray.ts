/** The system tray: an Electron Menu rebuilt from buildTrayMenu() whenever the state changes. */
import { Menu, Tray, nativeImage, type MenuItemConstructorOptions } from 'electron';
import { buildTrayMenu, type TrayAction, type TrayState } from './tray-menu.js';

export function createTray(iconPath: string, onAction: (action: TrayAction) => void) {
  const tray = new Tray(nativeImage.createFromPath(iconPath));
  tray.setToolTip('AIMA');
  const update = (state: TrayState) => {
    const template: MenuItemConstructorOptions[] = buildTrayMenu(state).map((item) => {
      switch (item.kind) {
        case 'separator':
          return { type: 'separator' };
        case 'label':
          return { label: item.label, enabled: false };
        case 'action':
          return { label: item.label, enabled: item.enabled, click: () => onAction(item.action) };
      }
    });
    tray.setContextMenu(Menu.buildFromTemplate(template));
  };
  return { tray, update, destroy: () => tray.destroy() };
}
