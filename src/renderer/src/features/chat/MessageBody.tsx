/**
 * One chat message's body: text as it is; a JSON answer pretty-printed in monospace (raw while it
 * streams or when it does not parse); each tool call as its function name with its arguments
 * pretty-printed.
 */
import type { ChatMessage } from '../../stores/chat.js';
import { prettyJson } from './pretty-json.js';

export function MessageBody({ message, streaming }: { message: ChatMessage; streaming: boolean }) {
  const { content, toolCalls, json } = message;
  const pretty = json && !streaming ? prettyJson(content) : null;
  const empty = !content && !toolCalls?.length;
  return (
    <>
      {(content || (empty && message.role === 'assistant' && !message.error)) &&
        (json ? (
          <pre className="bubble json" data-testid="json-answer">
            {pretty ?? (content || '…')}
          </pre>
        ) : (
          <div className="bubble">{content || '…'}</div>
        ))}
      {toolCalls?.map((call, i) => (
        <div key={call.id || i} className="bubble tool-call" data-testid="tool-call">
          <div className="tool-call-head">
            Tool call <code className="tool-name">{call.name || '…'}</code>
          </div>
          <pre className="json">{(!streaming && prettyJson(call.arguments)) || call.arguments}</pre>
        </div>
      ))}
    </>
  );
}
