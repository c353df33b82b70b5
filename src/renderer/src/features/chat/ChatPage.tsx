/**
 * Chat: a text playground with any LLM the gateway routes, streamed, with timings per reply. Tool
 * calls and JSON answers (asked for through the request options) are shown readably.
 */
import { useEffect, useRef, useState } from 'react';
import { useChat } from '../../stores/chat.js';
import { MessageBody } from './MessageBody.js';
import { RequestsPanel } from './RequestsPanel.js';

export function ChatPage() {
  const { models, model, system, options, messages, streaming, queued, error, loadModels, setModel, setSystem, setOptions, send, stop, clear } = useChat();
  const [draft, setDraft] = useState('');
  const end = useRef<HTMLDivElement>(null);
  useEffect(() => {
    void loadModels();
  }, [loadModels]);
  useEffect(() => {
    // A block body: newer Chromium returns a Promise from scrollIntoView, which React would take for a cleanup.
    void end.current?.scrollIntoView({ block: 'end' });
  }, [messages]);
  const current = models.find((m) => m.id === model);

  return (
    <>
      <section className="card">
        <div className="form-row">
          <label>
            Model{' '}
            <select name="model" value={model} onChange={(e) => setModel(e.target.value)}>
              {models.length === 0 && <option value="">No LLM services yet</option>}
              {models.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.id} ({m.state})
                </option>
              ))}
            </select>
          </label>
          <button type="button" onClick={() => void loadModels()}>
            Refresh
          </button>
          <span className="grow" />
          <button type="button" onClick={clear} disabled={!!streaming || messages.length === 0}>
            New chat
          </button>
        </div>
        {current && current.state !== 'running' && (
          <p className="muted" data-testid="model-state">
            {current.id} is {current.state}
            {current.reason ? ` (${current.reason})` : ''}. It starts on the first message when "start on demand" is on in Settings; otherwise start it on the Services page.
          </p>
        )}
        {models.length === 0 && <p className="muted">Create an LLM service on the Services page (or with `aima service create`), then chat with it here.</p>}
        <textarea className="system" name="system" rows={2} value={system} onChange={(e) => setSystem(e.target.value)} placeholder="System prompt" />
        <details className="request-options">
          <summary>Request options</summary>
          <textarea
            className="system mono"
            name="options"
            rows={4}
            value={options}
            onChange={(e) => setOptions(e.target.value)}
            placeholder='Extra request fields as JSON, e.g. {"response_format": {"type": "json_object"}} or {"tools": [...], "tool_choice": "required"}'
          />
        </details>
      </section>
      {error && <div className="banner error-banner">{error}</div>}
      <section className="card chat-log" data-testid="chat-log">
        {messages.length === 0 && <p className="muted">Say something to start.</p>}
        {messages.map((m, i) => (
          <div key={i} className={`msg ${m.role}`} data-role={m.role}>
            <MessageBody message={m} streaming={!!streaming && i === messages.length - 1} />
            {queued && i === messages.length - 1 && m.role === 'assistant' && (
              <div className="muted" data-testid="queue-position">
                queued: position {queued.position}
                {queued.etaMs !== null ? `, about ${Math.max(1, Math.round(queued.etaMs / 1000))} s` : ''}
              </div>
            )}
            {m.error && <div className="error">{m.error}</div>}
            {m.timings && (
              <div className="timings" data-testid="timings">
                first token {m.timings.ttftMs} ms · {m.timings.tokens} tokens{m.timings.tokensPerSecond ? ` · ${m.timings.tokensPerSecond} tok/s` : ''} · {m.timings.totalMs} ms total
              </div>
            )}
          </div>
        ))}
        <div ref={end} />
      </section>
      <form
        className="card form-row"
        onSubmit={(e) => {
          e.preventDefault();
          if (!draft.trim()) return;
          void send(draft.trim());
          setDraft('');
        }}
      >
        <input className="grow" name="message" value={draft} onChange={(e) => setDraft(e.target.value)} placeholder={model ? `Message ${model}` : 'No model selected'} disabled={!model} />
        {streaming ? (
          <button type="button" onClick={stop}>
            Stop
          </button>
        ) : (
          <button type="submit" className="primary" disabled={!model || !draft.trim()}>
            Send
          </button>
        )}
      </form>
      <RequestsPanel />
    </>
  );
}
