import { Upcoming } from '../../components/Upcoming.js';

export function DashboardPage() {
  return (
    <Upcoming capability="the Hardware capability">
      A card per GPU with VRAM, utilization, temperature and power charts updated every second, CPU and RAM cards, and whether Docker can run GPU containers here.
    </Upcoming>
  );
}
