/**
 * POST /v1/chat/completions: plans the request (chat-plan.ts), picks how to generate it and
 * settles the answer:
 * - plain text, or JSON (`response_format`) under a grammar; JSON is parsed and checked against the
 *   schema afterwards, and an answer that breaks it is an error naming the keyword, never returned
 *   as if valid (an answer cut by max_tokens is returned as it is, with finish_reason "length");
 * - a forced tool call (tool_choice "required" or a named function) under AIMA's own call grammar;
 * - tool_choice "auto": node-llama-cpp's function calling through the chat wrapper's call syntax.
 */
import { LlamaGrammar } from 'node-llama-cpp';
import type { ChatHistoryItem, ChatModelFunctions, GbnfJsonSchema, Llama, LlamaChatResponse, LlamaChatResponseChunk } from 'node-llama-cpp';
import { HttpError } from '../../lib/http.js';
import { chatFunctions, planChat } from './chat-plan.js';
import type { ChatPlan, PreparedTool } from './chat-plan.js';
import { generate, readGenerationRequest } from './generate.js';
import type { ChoiceBody, Emit, Endpoint, FinishReason, GenerateOptions, GenerationHandler } from './generate.js';
import type { Engine } from './engine.js';
import { validateJson } from './json-schema/validate.js';
import type { CheckSchema } from './json-schema/normalize.js';
import { chatRequestSchema } from './schemas.js';
import type { ChatRequest } from './schemas.js';
import type { Slot } from './slots.js';
import { ForcedCallReader, callArgumentsDelta, callStartDelta, callsFromChatResponse, forcedCallGrammar, messageToolCalls, newCallId } from './tool-calls.js';
import type { ToolCall } from './tool-calls.js';

type ChatResult = LlamaChatResponse<ChatModelFunctions>;

/** Grammars by schema: building one parses GBNF in llama.cpp, so repeated schemas reuse theirs. */
const grammarCache = new Map<string, Promise<LlamaGrammar>>();
const GRAMMAR_CACHE_SIZE = 64;

function cachedGrammar(key: string, create: () => Promise<LlamaGrammar>): Promise<LlamaGrammar> {
  let grammar = grammarCache.get(key);
  if (!grammar) {
    if (grammarCache.size >= GRAMMAR_CACHE_SIZE) grammarCache.delete(grammarCache.keys().next().value!);
    grammar = create();
    grammar.catch(() => grammarCache.delete(key));
    grammarCache.set(key, grammar);
  }
  return grammar;
}

const schemaGrammar = (llama: Llama, schema: GbnfJsonSchema) => cachedGrammar(`schema:${JSON.stringify(schema)}`, () => llama.createGrammarForJsonSchema(schema as Parameters<Llama['createGrammarForJsonSchema']>[0]));
const jsonObjectGrammar = (llama: Llama) => cachedGrammar('json', () => LlamaGrammar.getFor(llama, 'json'));

/** The error for an answer that breaks the requested format: names the keyword and where. */
function outputError(what: string, detail: string, keyword: string, param: string): HttpError {
  return new HttpError(
    500,
    `The model's output does not satisfy ${what}: ${detail} (keyword "${keyword}"; the grammar enforces the structure, this is checked afterwards). Nothing is returned as if valid: retry (another seed or temperature), or relax the schema.`,
    'server_error',
    'output_schema_violation',
    param,
  );
}

/** Parses `text` as JSON and checks it against `schema`; throws {@link outputError}. */
function checkJson(text: string, schema: CheckSchema | null, what: string, param: string): void {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw outputError(what, `it is not valid JSON (${(err as Error).message})`, 'type', param);
  }
  if (schema === null) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw outputError(what, 'it is not a JSON object', 'type', param);
    return;
  }
  const violation = validateJson(value, schema);
  if (violation) throw outputError(what, violation.message, violation.keyword, param);
}

const toolParam = (plan: ChatPlan, name: string) => `tools[${[...plan.tools.keys()].indexOf(name)}].function.parameters`;

/** Streams text chunks (and thought segments as reasoning) from node-llama-cpp's chunk callback. */
const onChunk = (emit: Emit) => (c: LlamaChatResponseChunk) => {
  if (!c.text) return;
  if (c.type === undefined) emit.text(c.text);
  else if (c.segmentType === 'thought') emit.reasoning(c.text);
};

/** How the answer is generated and settled, by tool mode and output format. */
interface Strategy {
  /** The history the prompt is rendered from (with the functions' documentation when they may be called). */
  history: ChatHistoryItem[];
  functions?: ChatModelFunctions;
  opening: ChoiceBody;
  run(slot: Slot, options: GenerateOptions, emit: Emit): Promise<ChatResult>;
  settle(outcome: { text: string; reasoning: string; cut: boolean }, result: ChatResult, emit: Emit): { finish: FinishReason; message: ChoiceBody };
}

const assistant = (content: string | null, reasoning: string, extra: ChoiceBody = {}) => ({ role: 'assistant', content, ...(reasoning ? { reasoning_content: reasoning } : {}), ...extra });

async function textStrategy(engine: Engine, plan: ChatPlan): Promise<Strategy> {
  const { format, history } = plan;
  const grammar = format.kind === 'json_object' ? await jsonObjectGrammar(engine.llama) : format.kind === 'json_schema' ? await schemaGrammar(engine.llama, format.schema.grammar) : undefined;
  return {
    history,
    opening: { delta: { role: 'assistant', content: '' } },
    run: (slot, options, emit) => slot.chat(engine.chatWrapper).generateResponse(history, { ...options, ...(grammar ? { grammar } : {}), onResponseChunk: onChunk(emit) }),
    settle: ({ text, reasoning, cut }) => {
      if (!cut && format.kind === 'json_object') checkJson(text, null, 'response_format json_object', 'response_format');
      if (!cut && format.kind === 'json_schema') checkJson(text, format.schema.check, `the response_format schema "${format.name}"`, 'response_format.json_schema.schema');
      return { finish: cut ? 'length' : 'stop', message: assistant(text, reasoning) };
    },
  };
}

async function forcedCallStrategy(engine: Engine, plan: ChatPlan, names: string[]): Promise<Strategy> {
  const candidates = names.map((n) => plan.tools.get(n)!);
  const functions = chatFunctions(plan.tools.values());
  const history = [...engine.chatWrapper.addAvailableFunctionsSystemMessageToHistory(plan.history, functions, { documentParams: true })];
  const grammar = await schemaGrammar(engine.llama, forcedCallGrammar(candidates));
  const id = newCallId();
  let reader: ForcedCallReader | null = null;
  return {
    history,
    opening: { delta: { role: 'assistant', content: null } },
    run: (slot, options, emit) => {
      reader = new ForcedCallReader(
        names,
        (name) => emit.choice(callStartDelta(0, { id, name })),
        (fragment) => emit.choice(callArgumentsDelta(0, fragment)),
      );
      return slot.chat(engine.chatWrapper).generateResponse(history, {
        ...options,
        grammar,
        onResponseChunk: (c) => {
          if (c.type === undefined) reader!.push(c.text);
        },
      });
    },
    settle: ({ reasoning, cut }) => {
      const call = reader!.finish(!cut);
      const calls: ToolCall[] = call ? [{ id, ...call }] : [];
      if (!cut && call) checkJson(call.arguments, plan.tools.get(call.name)!.parameters.check, `the parameters of tool "${call.name}"`, toolParam(plan, call.name));
      return { finish: cut ? 'length' : 'tool_calls', message: assistant(null, reasoning, calls.length ? { tool_calls: messageToolCalls(calls) } : {}) };
    },
  };
}

function autoStrategy(engine: Engine, plan: ChatPlan): Strategy {
  const functions = chatFunctions(plan.tools.values());
  return {
    history: plan.history,
    functions,
    opening: { delta: { role: 'assistant', content: '' } },
    run: (slot, options, emit) =>
      slot.chat(engine.chatWrapper).generateResponse(plan.history, { ...options, functions, documentFunctionParams: true, maxParallelFunctionCalls: 1, onResponseChunk: onChunk(emit) }),
    settle: ({ text, reasoning, cut }, result, emit) => {
      const calls: ToolCall[] = callsFromChatResponse(result.functionCalls).map((c) => ({ id: newCallId(), ...c }));
      if (calls.length === 0) return { finish: cut ? 'length' : 'stop', message: assistant(text, reasoning) };
      calls.forEach((c, i) => {
        const tool: PreparedTool | undefined = plan.tools.get(c.name);
        if (tool) checkJson(c.arguments, tool.parameters.check, `the parameters of tool "${c.name}"`, toolParam(plan, c.name));
        // node-llama-cpp parses a call once its syntax is complete: it streams as one start and one arguments delta.
        emit.choice(callStartDelta(i, c));
        emit.choice(callArgumentsDelta(i, c.arguments));
      });
      return { finish: 'tool_calls', message: assistant(text || null, reasoning, { tool_calls: messageToolCalls(calls) }) };
    },
  };
}

function strategyFor(engine: Engine, plan: ChatPlan): Promise<Strategy> | Strategy {
  switch (plan.mode.kind) {
    case 'text':
      return textStrategy(engine, plan);
    case 'call':
      return forcedCallStrategy(engine, plan, plan.mode.names);
    case 'auto':
      return autoStrategy(engine, plan);
  }
}

/** POST /v1/chat/completions */
export const handleChatCompletions: GenerationHandler = async (req, res, engine, config, receivedAt) => {
  const body: ChatRequest = await readGenerationRequest(chatRequestSchema, req, engine, config);
  const plan = planChat(body);
  const strategy = await strategyFor(engine, plan);
  const promptTokens = engine.chatWrapper
    .generateContextState({ chatHistory: strategy.history, ...(strategy.functions ? { availableFunctions: strategy.functions, documentFunctionParams: true } : {}) })
    .contextText.tokenize(engine.model.tokenizer);
  // Stop sequences apply to text; a forced call's arguments are bounded by their grammar instead.
  const stopFree = plan.mode.kind === 'call' ? { ...body, stop: null } : body;
  const endpoint: Endpoint<ChatResult> = {
    idPrefix: 'chatcmpl',
    body: stopFree,
    promptTokens,
    streamObject: 'chat.completion.chunk',
    textChoice: (piece) => ({ delta: { content: piece } }),
    endChoice: { delta: {} },
    // Thought segments of reasoning models go out as `reasoning_content`, as llama-server does.
    reasoningChoice: (piece) => ({ delta: { reasoning_content: piece } }),
    opening: strategy.opening,
    run: (slot, options, emit) => strategy.run(slot, options, emit),
    settle: (outcome, result, emit) => {
      const { finish, message } = strategy.settle(outcome, result, emit);
      return { finish, object: 'chat.completion', choice: { message } };
    },
  };
  return generate(res, engine, config, receivedAt, endpoint);
};
