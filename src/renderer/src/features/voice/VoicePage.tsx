/**
 * Voice: talk to the ASR → LLM → TTS chain. Microphone picker and level meter, hands-free (the
 * core's VAD decides turns) or push-to-talk, the live transcript with the reply streaming in and
 * spoken back, Stop, a latency timeline per turn, the conversations (one is resumed by Start) and
 * the voice. With no chain set, the page offers to set one up (VoiceSetup: models per link, the
 * budget, create and start); a chain service that is not running is named with a Start button.
 */
import { useEffect } from 'react';
import { Banners } from '../../components/Banners.js';
import { useServices } from '../../stores/services.js';
import { useVoice } from '../../stores/voice.js';
import { chainProblems, ROLE_LABEL, type ChainProblem } from './chain.js';
import { Timeline } from './Timeline.js';
import { ExportConversation, RecordingUsageLine, TurnRecording } from './Recordings.js';
import { insecureContextMessage } from './mic-errors.js';
import { VoicePicker } from './VoicePicker.js';
import { VoiceSetup } from './VoiceSetup.js';
import { useVoiceSetup } from '../../stores/voice-setup.js';
import type { TurnView } from './voice-client.js';
import type { VoiceTurn } from '../../../../shared/contract/index.js';

const STATE_TEXT: Record<string, string> = {
  listening: 'Listening',
  hearing: 'Hearing you',
  transcribing: 'Transcribing',
  thinking: 'Thinking',
  speaking: 'Speaking',
  interrupted: 'Interrupted',
};

export function VoicePage() {
  const v = useVoice();
  const { services, loaded: servicesLoaded, load: loadServices } = useServices();
  useEffect(() => {
    void v.load();
    void loadServices();
    // Leaving the page ends the session: the microphone is not left open behind another page.
    return () => useVoice.getState().stop();
  }, []);
  const problems = v.config ? chainProblems(v.config, services) : [];
  const unset = problems.some((p) => p.kind === 'unset');
  const setupOpen = useVoiceSetup((s) => s.open);
  const setupNotice = useVoiceSetup((s) => s.notice);
  const canStart = v.config !== null && problems.length === 0 && v.session === 'off';

  return (
    <div className="voice-layout">
      <aside className="card voice-conversations" data-testid="conversations">
        <h2>Conversations</h2>
        <button type="button" onClick={() => void v.openConversation(null)} disabled={v.session !== 'off'} className={v.conversationId === null ? 'active' : ''}>
          New conversation
        </button>
        <ul>
          {v.conversations.map((c) => (
            <li key={c.id} className={c.id === v.conversationId ? 'active' : ''} data-conversation={c.id}>
              <button type="button" className="link" onClick={() => void v.openConversation(c.id)} disabled={v.session !== 'off'} title="Open and continue this conversation">
                {c.title || 'Untitled'} <span className="muted small">({c.turnCount})</span>
              </button>
              <button type="button" className="icon" aria-label={`Delete ${c.title}`} onClick={() => void v.deleteConversation(c.id)} disabled={v.session !== 'off'}>
                ×
              </button>
            </li>
          ))}
        </ul>
        {v.conversationId && <ExportConversation conversationId={v.conversationId} />}
        <RecordingUsageLine usage={v.recordingUsage} />
      </aside>
      <div className="voice-main">
        {/* data-checked: the chain was checked against the services (tests wait for it). */}
        <section className="card" data-testid="voice-chain" data-checked={v.config !== null && servicesLoaded ? 'true' : 'false'}>
          <ChainLine />
          {!window.isSecureContext && (
            <p className="banner warn" role="alert" data-testid="voice-needs-https">
              {insecureContextMessage(window.location)}
            </p>
          )}
          {problems
            .filter((p) => p.kind !== 'unset')
            .map((p) => (
              <ProblemBanner key={p.role} problem={p} />
            ))}
          <div className="form-row voice-controls">
            <label>
              Microphone{' '}
              <select name="mic" value={v.micId} onChange={(e) => v.setMic(e.target.value)} disabled={v.session !== 'off'}>
                <option value="">Default</option>
                {v.mics
                  .filter((m) => m.id && m.id !== 'default')
                  .map((m) => (
                    <option key={m.id} value={m.id}>
                      {m.label}
                    </option>
                  ))}
              </select>
            </label>
            <span className="voice-meter" title="Input level" aria-label="Input level">
              <span data-testid="level" style={{ width: `${Math.min(100, Math.round(Math.sqrt(v.level) * 180))}%` }} />
            </span>
            <label className="switch-label">
              <span className="switch">
                <input type="checkbox" role="switch" name="handsFree" checked={v.handsFree} onChange={(e) => v.setHandsFree(e.target.checked)} />
                <span />
              </span>
              Hands-free
            </label>
            <span className="voice-spacer" />
            {v.session === 'off' ? (
              <button type="button" className="primary" data-testid="voice-start" onClick={() => void v.start()} disabled={!canStart}>
                Start
              </button>
            ) : (
              <button type="button" data-testid="voice-end" onClick={v.stop}>
                End session
              </button>
            )}
          </div>
          {v.session !== 'off' && (
            <div className="form-row voice-controls">
              <span className="badge" data-testid="voice-state" data-state={v.session === 'on' ? v.coreState : 'connecting'}>
                {v.session === 'on' ? STATE_TEXT[v.coreState] : 'Connecting…'}
              </span>
              {!v.handsFree && (
                <button
                  type="button"
                  className={v.talking ? 'primary talk held' : 'primary talk'}
                  data-testid="talk"
                  aria-pressed={v.talking}
                  disabled={v.session !== 'on'}
                  onPointerDown={(e) => {
                    e.currentTarget.setPointerCapture(e.pointerId);
                    v.setTalking(true);
                  }}
                  onPointerUp={() => v.setTalking(false)}
                  onPointerCancel={() => v.setTalking(false)}
                  onKeyDown={(e) => e.key === ' ' && !e.repeat && v.setTalking(true)}
                  onKeyUp={(e) => e.key === ' ' && v.setTalking(false)}
                >
                  {v.talking ? 'Talking… (release to send)' : 'Hold to talk'}
                </button>
              )}
              <span className="voice-spacer" />
              <button type="button" data-testid="voice-stop" onClick={v.cancelTurn} disabled={v.session !== 'on' || !['transcribing', 'thinking', 'speaking'].includes(v.coreState)} title="Stop the reply">
                Stop
              </button>
            </div>
          )}
          {v.session === 'off' && v.config && problems.length === 0 && (
            <p className="muted small">{v.conversationId ? 'Start continues the selected conversation.' : 'Start begins a new conversation.'} Hands-free: just talk; the reply stops when you talk over it. Push-to-talk: hold the button while you speak.</p>
          )}
        </section>
        {v.config && servicesLoaded && (unset || setupOpen) && v.session === 'off' && <VoiceSetup required={unset} />}
        <Banners error={v.error} notice={setupNotice} errorTestId="voice-error" />
        <section className="card voice-transcript" data-testid="voice-transcript">
          {v.history.length === 0 && v.turns.length === 0 && <p className="muted">Nothing said yet.</p>}
          {v.history.map((t) => (
            <StoredTurn key={t.id} turn={t} conversationId={v.conversationId} />
          ))}
          {v.turns.map((t) => (
            <LiveTurn key={t.id} turn={t} />
          ))}
          {v.session !== 'off' && <SpeculationMark count={v.speculationsDiscarded} />}
        </section>
      </div>
    </div>
  );
}

function ChainLine() {
  const config = useVoice((s) => s.config);
  if (!config) return <p className="muted">Loading the voice chain…</p>;
  return (
    <div className="form-row voice-chain">
      <span className="small">
        ASR <code>{config.asr ?? '—'}</code> → LLM <code>{config.llm ?? '—'}</code> → TTS <code>{config.tts ?? '—'}</code>
      </span>
      <span className="voice-spacer" />
      <button type="button" data-testid="voice-setup-open" onClick={() => useVoiceSetup.getState().show(true)}>
        Change…
      </button>
      <VoicePicker />
    </div>
  );
}

function ProblemBanner({ problem: p }: { problem: ChainProblem }) {
  const starting = useVoice((s) => (p.kind === 'not-running' ? s.starting[p.service.name] : undefined));
  const startService = useVoice((s) => s.startService);
  const cancel = useVoice((s) => s.cancelServiceStart);
  // An unset link is not a banner: the setup card below offers to set the chain up.
  if (p.kind === 'unset') return null;
  const s = p.service;
  const busy = starting !== undefined || s.state === 'starting' || s.state === 'loading';
  return (
    <div className="banner error-banner" role="alert" data-testid="chain-problem" data-service={s.name}>
      {busy ? (
        <>
          <strong>
            Starting {ROLE_LABEL[p.role]} service '{s.name}' ({s.state})
          </strong>{' '}
          <span className="small">{starting}</span>{' '}
          <button type="button" onClick={() => void cancel(s.name)}>
            Cancel
          </button>
        </>
      ) : (
        <>
          <strong>
            {ROLE_LABEL[p.role]} service '{s.name}' is {s.state}
            {s.reason ? ` (${s.reason})` : ''}
          </strong>{' '}
          —{' '}
          <button type="button" className="primary" data-testid="start-service" onClick={() => void startService(s.name)}>
            Start
          </button>
        </>
      )}
    </div>
  );
}

/** Speculative replies that were dropped unseen: a faint mark, never a turn. */
function SpeculationMark({ count }: { count: number | undefined }) {
  if (!count) return null;
  return (
    <div className="small muted voice-speculation-mark" data-testid="speculation-discarded" data-count={count}>
      {count === 1 ? 'A reply was prepared and dropped: you went on speaking.' : `${count} replies were prepared and dropped: you went on speaking.`}
    </div>
  );
}

function LiveTurn({ turn: t }: { turn: TurnView }) {
  const status = t.error ? 'failed' : t.interrupted || t.audioStopped ? 'interrupted' : t.playbackEnded ? 'played' : t.done ? 'done' : 'live';
  return (
    <div className="voice-turn" data-testid="voice-turn" data-turn-id={t.id} data-status={status} data-interrupted={t.interrupted || t.audioStopped ? 'true' : 'false'} data-playback={t.playbackEnded ? 'ended' : t.audioStopped ? 'stopped' : 'none'}>
      <SpeculationMark count={t.timeline?.speculationsDiscarded} />
      <div className="msg user">
        <div className="bubble" data-testid="user-text">
          {t.user || '…'}
        </div>
      </div>
      <div className="msg assistant">
        <div className="bubble" data-testid="assistant-text">
          {t.assistant || (t.done ? '' : '…')}
        </div>
        {t.error && <div className="error">{t.error}</div>}
        {(t.interrupted || t.audioStopped) && (
          <div className="small muted" data-testid="interrupted">
            Interrupted{t.stopMs !== null ? ` (stopped in ${Math.round(t.stopMs)} ms)` : ''}
          </div>
        )}
      </div>
      {t.timeline && <Timeline timeline={t.timeline} />}
    </div>
  );
}

function StoredTurn({ turn: t, conversationId }: { turn: VoiceTurn; conversationId: string | null }) {
  return (
    <div className="voice-turn stored" data-testid="stored-turn">
      <SpeculationMark count={t.timeline.speculationsDiscarded} />
      <div className="msg user">
        <div className="bubble">{t.user}</div>
      </div>
      <div className="msg assistant">
        <div className="bubble">{t.assistant}</div>
        {t.interrupted && <div className="small muted">Interrupted</div>}
      </div>
      <TurnRecording conversationId={conversationId} turn={t} />
      <Timeline timeline={t.timeline} />
    </div>
  );
}
