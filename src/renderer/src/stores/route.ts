/** Which page is open; kept in the URL hash so a reload stays on the same page. */
import { create } from 'zustand';

export const pages = ['dashboard', 'models', 'services', 'chat', 'voice', 'settings'] as const;
export type PageId = (typeof pages)[number];

function fromHash(): PageId {
  const id = window.location.hash.replace(/^#\/?/, '');
  return (pages as readonly string[]).includes(id) ? (id as PageId) : 'dashboard';
}

interface RouteState {
  page: PageId;
  go(page: PageId): void;
}

export const useRoute = create<RouteState>((set) => ({
  page: fromHash(),
  go(page) {
    window.location.hash = `/${page}`;
    set({ page });
  },
}));

window.addEventListener('hashchange', () => useRoute.setState({ page: fromHash() }));
