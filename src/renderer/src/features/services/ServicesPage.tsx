import { Upcoming } from '../../components/Upcoming.js';

export function ServicesPage() {
  return (
    <Upcoming capability="Services">
      Run a model on an engine (embedded llama.cpp, Whisper, flite, or a Docker image such as vLLM), switch it on and off, follow its state and logs.
    </Upcoming>
  );
}
