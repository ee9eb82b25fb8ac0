/**
 * Keeps a member's signals within the node's signal rate (spec/protocol.md 17.11: 20 a second, a
 * burst of 40), a little below it so clock drift does not cross it: a token bucket whose `take`
 * waits, in call order, until a token is free. A mesh of 8 or 10 joining at once sends more than a
 * burst (joins, offers, answers and candidates to every other member); paced, none is refused.
 */
export class Pacer {
  private tokens: number;
  private updated: number;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly rate = 18,
    readonly burst = 36,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.updated = now();
  }

  /** Resolves once a token is taken (callers are served in the order they called). */
  take(): Promise<void> {
    const turn = this.chain.then(() => this.wait());
    this.chain = turn;
    return turn;
  }

  private async wait(): Promise<void> {
    for (;;) {
      const t = this.now();
      this.tokens = Math.min(this.burst, this.tokens + ((t - this.updated) / 1000) * this.rate);
      this.updated = t;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await new Promise((r) => setTimeout(r, ((1 - this.tokens) / this.rate) * 1000));
    }
  }
}
