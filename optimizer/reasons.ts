/**
 * Collects the explanations that end up in `Allocation.reason`. Bad input is reported, not thrown, so one
 * malformed record cannot stop a whole grid area from being scheduled; the list is capped so a flood of
 * bad values does not produce a megabyte-long reason.
 */
export class Reasons {
  private readonly messages: string[] = [];
  private readonly seen = new Set<string>();
  private dropped = 0;

  constructor(private readonly max = 20) {}

  add(message: string): void {
    if (this.seen.has(message)) return;
    this.seen.add(message);
    if (this.messages.length < this.max) this.messages.push(message);
    else this.dropped++;
  }

  get empty(): boolean {
    return this.messages.length === 0;
  }

  toString(): string {
    const more = this.dropped > 0 ? [`and ${this.dropped} more`] : [];
    return [...this.messages, ...more].join('; ');
  }
}
