/** One turn's latency breakdown: a small bar per stage on a shared scale, voice-to-voice highlighted. */
import type { VoiceTimeline } from '../../../../shared/contract/voice.js';
import { timelineLayout } from './timeline.js';

const pct = (v: number, total: number) => `${total > 0 ? (100 * v) / total : 0}%`;

export function Timeline({ timeline }: { timeline: Partial<VoiceTimeline> }) {
  const { bars, total, voiceToVoice } = timelineLayout(timeline);
  if (bars.length === 0) return null;
  return (
    <div className="voice-timeline" data-testid="timeline">
      {voiceToVoice && (
        <div className="tl-row tl-v2v">
          <span className="tl-label">voice-to-voice</span>
          <span className="tl-track">
            <span className="tl-bar" style={{ left: pct(voiceToVoice.from, total), width: pct(voiceToVoice.to - voiceToVoice.from, total) }} />
          </span>
          <span className="tl-ms" data-testid="v2v">
            {Math.round(voiceToVoice.ms)} ms
          </span>
        </div>
      )}
      {bars.map((b) => (
        <div key={b.key} className={`tl-row tl-${b.key}`}>
          <span className="tl-label">{b.label}</span>
          <span className="tl-track">
            <span className="tl-bar" style={{ left: pct(b.from, total), width: `max(2px, ${pct(b.to - b.from, total)})` }} />
          </span>
          <span className="tl-ms">{Math.round(b.to - b.from)} ms</span>
        </div>
      ))}
    </div>
  );
}
