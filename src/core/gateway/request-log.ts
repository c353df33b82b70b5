/** The last N gateway requests with their timings, for the Requests view. */

export interface RequestRecord {
  id: number;
  at: string;
  endpoint: string;
  model: string | null;
  status: number;
  durationMs: number;
  queuedMs: number;
  ttftMs: number | null;
  completionTokens: number | null;
  tokensPerSecond: number | null;
  stream: boolean;
  error: string | null;
}

export class RequestLog {
  private readonly items: RequestRecord[] = [];
  private next = 1;
  constructor(
    private readonly capacity = 200,
    private readonly onAdd?: (r: RequestRecord) => void,
  ) {}

  add(r: Omit<RequestRecord, 'id'>): RequestRecord {
    const rec = { ...r, id: this.next++ };
    this.items.push(rec);
    if (this.items.length > this.capacity) this.items.shift();
    this.onAdd?.(rec);
    return rec;
  }

  /** Newest first. */
  recent(limit = 50): RequestRecord[] {
    return this.items.slice(-limit).reverse();
  }
}
