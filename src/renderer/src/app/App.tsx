/** The app shell: navigation on the left, the open page on the right, login screen when needed. */
import { useEffect } from 'react';
import { pages, useRoute, type PageId } from '../stores/route.js';
import { useConnection } from '../stores/connection.js';
import { invoke } from '../api/client.js';
import { DashboardPage } from '../features/dashboard/DashboardPage.js';
import { ModelsPage } from '../features/models/ModelsPage.js';
import { ServicesPage } from '../features/services/ServicesPage.js';
import { ChatPage } from '../features/chat/ChatPage.js';
import { VoicePage } from '../features/voice/VoicePage.js';
import { SettingsPage } from '../features/settings/SettingsPage.js';
import { LoginScreen } from './LoginScreen.js';
import { useSettings } from '../stores/settings.js';

const titles: Record<PageId, string> = {
  dashboard: 'Dashboard',
  models: 'Models',
  services: 'Services',
  chat: 'Chat',
  voice: 'Voice',
  settings: 'Settings',
};

function Page({ id }: { id: PageId }) {
  switch (id) {
    case 'dashboard':
      return <DashboardPage />;
    case 'models':
      return <ModelsPage />;
    case 'services':
      return <ServicesPage />;
    case 'chat':
      return <ChatPage />;
    case 'voice':
      return <VoicePage />;
    case 'settings':
      return <SettingsPage />;
  }
}

export function App() {
  const { page, go } = useRoute();
  const { status, live } = useConnection();

  const theme = useSettings((s) => s.settings?.theme);

  useEffect(() => {
    invoke('core.info', {})
      .then(() => {
        useConnection.getState().setOk();
        return useSettings.getState().load();
      })
      .catch(() => {});
  }, []);

  useEffect(() => {
    document.documentElement.dataset.theme = theme ?? 'system';
  }, [theme]);

  if (status === 'unauthorized') return <LoginScreen />;

  return (
    <div className="shell">
      <nav className="sidebar" aria-label="Main">
        <div className="brand">AIMA</div>
        <ul>
          {pages.map((id) => (
            <li key={id}>
              <button className={id === page ? 'nav-item active' : 'nav-item'} aria-current={id === page ? 'page' : undefined} onClick={() => go(id)} data-nav={id}>
                {titles[id]}
              </button>
            </li>
          ))}
        </ul>
      </nav>
      <main className="content">
        {!live && <div className="banner warn">Connection to the AIMA core lost — reconnecting…</div>}
        <h1>{titles[page]}</h1>
        <Page id={page} />
      </main>
    </div>
  );
}
