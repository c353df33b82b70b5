import { Upcoming } from '../../components/Upcoming.js';

export function ChatPage() {
  return (
    <Upcoming capability="the Gateway">
      A streaming text chat with any running LLM service through AIMA's OpenAI-compatible gateway, with a model picker and timings.
    </Upcoming>
  );
}
