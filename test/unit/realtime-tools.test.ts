/** Function tools of Realtime sessions: the chat request's tools and the history record of calls. */
import { describe, expect, it } from 'vitest';
import { chatToolFields, withCalls } from '../../src/core/voice/realtime/tools.js';

const lights = { type: 'function' as const, name: 'lights', description: 'Switch the lights', parameters: { type: 'object', properties: { on: { type: 'boolean' } } } };
const chatLights = { type: 'function', function: { name: 'lights', description: 'Switch the lights', parameters: lights.parameters } };

describe('chatToolFields', () => {
  it.each<[string, Parameters<typeof chatToolFields>[0], Record<string, unknown>]>([
    ['no tools', { tools: [], toolChoice: 'auto' }, {}],
    ['"none" sends no tools', { tools: [lights], toolChoice: 'none' }, {}],
    ['auto', { tools: [lights], toolChoice: 'auto' }, { tools: [chatLights], tool_choice: 'auto' }],
    ['required', { tools: [lights], toolChoice: 'required' }, { tools: [chatLights], tool_choice: 'required' }],
    ['a named function', { tools: [lights], toolChoice: { type: 'function', name: 'lights' } }, { tools: [chatLights], tool_choice: { type: 'function', function: { name: 'lights' } } }],
  ])('%s', (_n, s, want) => expect(chatToolFields(s)).toEqual(want));
});

describe('withCalls', () => {
  const call = { callId: 'call_1', name: 'lights', arguments: '{"on":true}' };
  const chatCall = { id: 'call_1', type: 'function', function: { name: 'lights', arguments: '{"on":true}' } };
  it('makes an assistant message of its own when the turn said nothing', () => {
    expect(withCalls(null, [call])).toEqual({ role: 'assistant', content: '', tool_calls: [chatCall] });
  });
  it('adds the calls to the message the turn remembered (the same object)', () => {
    const m = { role: 'assistant' as const, content: 'Sure.' };
    expect(withCalls(m, [call])).toBe(m);
    expect(m).toEqual({ role: 'assistant', content: 'Sure.', tool_calls: [chatCall] });
  });
});
