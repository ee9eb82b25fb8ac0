/**
 * The device's care settings, kept sealed in the history's `seen` store (this browser only), and the
 * idle lock that reads one of them.
 *
 * Settings: the care check (on unless turned off) and the idle lock (one of `IDLE_CHOICES` minutes,
 * 0 = never, the default). A damaged or unknown stored value reads as the default; `setIdle` refuses
 * a value outside the choices with `idle.choice`.
 *
 * The lock (as `clients/app/idle.py`): only what the person does counts as use (pointer, keys,
 * touch, wheel); after `minutes` without it, `lock()` runs (the page reloads to the unlock screen,
 * as "Lock" does). Sans-I/O core `IdleClock`: the caller passes `now` in milliseconds.
 */
import { decode, encode } from "./cbor.js";
import { fail, HoldspaceError } from "./errors.js";
import type { HistoryStore } from "./history.js";
import { msg } from "./i18n.js";

export const IDLE_CHOICES: readonly number[] = [0, 5, 15, 60, 240];
export const IDLE_TEXT: Readonly<Record<number, string>> = {
  0: msg("Never"),
  5: msg("After 5 minutes"),
  15: msg("After 15 minutes"),
  60: msg("After 1 hour"),
  240: msg("After 4 hours"),
};

const KEY = "care";

export interface CareChoices {
  readonly check: boolean;
  readonly idleMinutes: number;
}

/** The care check and idle lock choices of this device. */
export class CareSettings {
  constructor(private readonly history: HistoryStore) {}

  async read(): Promise<CareChoices> {
    let raw: Uint8Array | undefined;
    try {
      raw = await this.history.get("seen", KEY);
    } catch (e) {
      if (e instanceof HoldspaceError) raw = undefined; // damaged: the defaults
      else throw e;
    }
    const defaults = { check: true, idleMinutes: 0 };
    if (raw === undefined) return defaults;
    try {
      const v = decode(raw);
      if (!(v instanceof Map)) return defaults;
      const check = v.get("check");
      const stored = v.get("idle");
      const idle = typeof stored === "bigint" ? Number(stored) : stored;
      return {
        check: check !== false,
        idleMinutes: typeof idle === "number" && IDLE_CHOICES.includes(idle) ? idle : 0,
      };
    } catch {
      return defaults;
    }
  }

  async setCheck(on: boolean): Promise<void> {
    const now = await this.read();
    await this.history.put("seen", KEY, encode({ check: on, idle: now.idleMinutes }));
  }

  async setIdle(minutes: number): Promise<void> {
    if (!IDLE_CHOICES.includes(minutes)) fail("web.idle_choice", `the idle lock is one of ${IDLE_CHOICES.join(", ")} minutes`);
    const now = await this.read();
    await this.history.put("seen", KEY, encode({ check: now.check, idle: minutes }));
  }
}

/** When the person last did something, and whether it is time to lock. */
export class IdleClock {
  private lastUsed: number;

  constructor(
    readonly minutes: number,
    now: number,
  ) {
    if (!IDLE_CHOICES.includes(minutes)) fail("web.idle_choice", `the idle lock is one of ${IDLE_CHOICES.join(", ")} minutes`);
    this.lastUsed = now;
  }

  touch(now: number): void {
    this.lastUsed = Math.max(this.lastUsed, now);
  }

  /** True when the lock is on and the person has done nothing for its time. */
  due(now: number): boolean {
    return this.minutes > 0 && now - this.lastUsed >= this.minutes * 60_000;
  }
}

const USE_EVENTS = ["pointerdown", "keydown", "wheel", "touchstart"] as const;

/** Watches the person's input in `win` and runs `lock` once the clock is due (checked every 15 s). */
export function watchIdle(win: Window, minutes: number, lock: () => void): () => void {
  if (minutes === 0) return () => undefined;
  const clock = new IdleClock(minutes, Date.now());
  const touch = (): void => clock.touch(Date.now());
  for (const e of USE_EVENTS) win.addEventListener(e, touch, { passive: true });
  const timer = win.setInterval(() => {
    if (clock.due(Date.now())) {
      stop();
      lock();
    }
  }, 15_000);
  const stop = (): void => {
    win.clearInterval(timer);
    for (const e of USE_EVENTS) win.removeEventListener(e, touch);
  };
  return stop;
}
