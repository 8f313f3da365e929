/**
 * Socket requests between their arrival at the gateway's Responder and their answer, counted per
 * socket. The graceful shutdown closes a socket's transport only once nothing of it is in flight,
 * so an answer is never cut off. Two map operations per request; waiters exist only while draining.
 */
export class InflightRequests {
  private readonly bySocket = new Map<string, number>();
  private readonly waiters = new Map<string, Array<() => void>>();
  /** Requests begun since start. */
  begun = 0;
  /** Requests answered since start. */
  answered = 0;

  begin(socketId: string): void {
    this.begun += 1;
    this.bySocket.set(socketId, (this.bySocket.get(socketId) ?? 0) + 1);
  }

  end(socketId: string): void {
    this.answered += 1;
    const left = (this.bySocket.get(socketId) ?? 1) - 1;
    if (left > 0) {
      this.bySocket.set(socketId, left);
      return;
    }
    this.bySocket.delete(socketId);
    const waiting = this.waiters.get(socketId);
    if (!waiting) return;
    this.waiters.delete(socketId);
    for (const resolve of waiting) resolve();
  }

  /** Requests in flight: of one socket, or of all of them. */
  count(socketId?: string): number {
    return socketId === undefined ? this.begun - this.answered : (this.bySocket.get(socketId) ?? 0);
  }

  /** Resolves once no request of the socket is in flight (at once when none is). */
  idle(socketId: string): Promise<void> {
    if (!this.bySocket.has(socketId)) return Promise.resolve();
    return new Promise((resolve) => {
      const waiting = this.waiters.get(socketId);
      if (waiting) waiting.push(resolve);
      else this.waiters.set(socketId, [resolve]);
    });
  }
}
