import { Upcoming } from '../../components/Upcoming.js';

export function VoicePage() {
  return (
    <Upcoming capability="Voice chat">
      Talk to a model: microphone in, speech recognition, a streamed reply spoken back sentence by sentence, with barge-in and a latency timeline per turn.
    </Upcoming>
  );
}
