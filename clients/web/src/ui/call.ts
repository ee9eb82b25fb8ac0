/**
 * The call screen of a group's live circle (spec/protocol.md 17.11): joining is a separate choice
 * (the microphone is asked for only then, the camera off unless chosen), the people in the call by
 * their labels with a speaking indicator in words and a shape (not colour alone), the talking piece
 * and raised hands, mute, leave, and for facilitators "Ask everyone to mute", giving the piece and
 * removing someone from the call. A live region says who joined or left and what a facilitator
 * asked; problems (the microphone refused, no path to someone and no relay) are said plainly.
 *
 * "Join" is offered only while the circle is open (a session of the group is on, `call/open.ts`);
 * otherwise the lobby says when the next session opens it. Someone already in the call stays.
 *
 * Invariants: nothing is captured before "Join"; rows are updated in place (a focused button is never
 * replaced while someone uses it); every control is a native button or checkbox with a name.
 */
import { fromHex, toHex } from "../bytes.js";
import { publicKey } from "../crypto.js";
import { label } from "../labels.js";
import { inboundAudio, outboundLevel, SpeakingMeter } from "../call/levels.js";
import type { CallEvent } from "../call/mesh.js";
import { circleAt } from "../call/open.js";
import { sessionHolderOf, shownHolder } from "../call/piece.js";
import type { CallRoom } from "../call/room.js";
import { HoldspaceError } from "../errors.js";
import { el, showProblem } from "./dom.js";
import { closedSentence, RECHECK_MS } from "./sessions.js";
import { msg, t } from "../i18n.js";

const POLL_MS = 300;
const NEWS_KEPT = 4;

export const NOT_RECORDED =
  msg("This circle is not recorded. Nobody, including the node, can record it: the voices go encrypted straight between the members' devices, and Holdspace has no recording feature. (As in any room, someone could still hold up another device.)");

export interface CallScreenOptions {
  /** "Back to messages": leaves the call first. */
  readonly onBack?: () => void;
  /** Milliseconds since the epoch (for the session's talking piece). */
  readonly now?: () => number;
}

interface Row {
  readonly li: HTMLLIElement;
  readonly name: HTMLElement;
  readonly speaking: HTMLElement;
  readonly piece: HTMLElement;
  readonly give: HTMLButtonElement | null;
  readonly remove: HTMLButtonElement | null;
}

/** The sentence a member is told when no path reaches some of the others. */
export function unreachableSentence(names: string[], relay: boolean): string {
  const who = names.join(", ");
  return relay
    ? t("You cannot connect to {who}: no direct connection between your devices works, and not even this community's relay for calls gets through. They cannot hear you, and you cannot hear them.", { who })
    : t("You cannot connect to {who}: no direct connection between your devices works (a firewall or the network may block it), and this community's node has no relay for calls. They cannot hear you, and you cannot hear them.", { who });
}

export class CallScreen {
  readonly root: HTMLElement;
  /** ms (page clock) when "Join" was pressed, and from then to the first peer's audio arriving. */
  joinPressedAt: number | null = null;
  firstHeardMs: number | null = null;
  private readonly self: string;
  private readonly lobby: HTMLElement;
  private readonly closed: HTMLElement;
  private lobbyTimer: ReturnType<typeof setInterval> | null;
  private readonly inCall: HTMLElement;
  private readonly status: HTMLElement;
  private readonly people: HTMLUListElement;
  private readonly hands: HTMLOListElement;
  private readonly noHands: HTMLElement;
  private readonly news: HTMLElement;
  private readonly alert: HTMLElement;
  private readonly media: HTMLElement;
  private readonly facilitation: HTMLElement;
  private readonly joinButton: HTMLButtonElement;
  private readonly camera: HTMLInputElement;
  private readonly voice: HTMLInputElement;
  private readonly muteButton: HTMLButtonElement;
  private readonly handButton: HTMLButtonElement;
  private readonly rows = new Map<string, Row>();
  private readonly players = new Map<string, HTMLMediaElement>();
  private readonly meter = new SpeakingMeter();
  private known = new Set<string>();
  private polling: ReturnType<typeof setInterval> | null = null;
  private unreachableShown = "";
  private removed = false;

  constructor(
    private readonly doc: Document,
    main: HTMLElement,
    private readonly room: CallRoom,
    private readonly opts: CallScreenOptions = {},
  ) {
    this.self = toHex(publicKey(room.o.seed));
    const d = doc;
    this.root = el(d, "section", undefined, { "aria-labelledby": "call-h", id: "call" });
    this.status = el(d, "p", undefined, { role: "status", id: "call-status" });
    this.news = el(d, "div", undefined, { "aria-live": "polite", id: "call-news" });
    this.alert = el(d, "div", undefined, { role: "alert", id: "call-alert" });
    this.camera = el(d, "input", undefined, { type: "checkbox", id: "call-camera" });
    this.voice = el(d, "input", undefined, { type: "checkbox", id: "call-voice" });
    this.joinButton = el(d, "button", t("Join the circle (voice)"), { type: "button" });
    this.lobby = el(d, "div", undefined, { id: "call-lobby" });
    this.closed = el(d, "p", undefined, { id: "call-closed" });
    this.lobby.append(
      el(d, "p", t("Joining is your choice. Your browser asks for your microphone only when you join. Your camera stays off unless you turn it on here.")),
      this.checkbox(this.camera, t("Turn my camera on too (optional)")),
      this.checkbox(this.voice, t("Disguise my voice (the others hear it changed; it is changed on this device)")),
      this.joinButton,
    );
    this.joinButton.addEventListener("click", () => void this.join());

    this.people = el(d, "ul", undefined, { id: "call-people", "aria-labelledby": "call-people-h", class: "call-people" });
    this.hands = el(d, "ol", undefined, { id: "call-hands", "aria-labelledby": "call-hands-h" });
    this.noHands = el(d, "p", t("No hands are raised."));
    this.muteButton = el(d, "button", t("Mute"), { type: "button", "aria-pressed": "false" });
    this.muteButton.addEventListener("click", () => void this.toggleMute());
    this.handButton = el(d, "button", t("Raise my hand"), { type: "button", "aria-pressed": "false" });
    this.handButton.addEventListener("click", () => void this.toggleHand());
    const leave = el(d, "button", t("Leave the call"), { type: "button" });
    leave.addEventListener("click", () => void this.leave(t("You left the call.")));
    const controls = el(d, "div", undefined, { role: "group", "aria-label": t("Your microphone and hand"), class: "call-controls" });
    controls.append(this.muteButton, this.handButton, leave);
    this.facilitation = el(d, "div", undefined, { role: "group", "aria-labelledby": "call-facilitate-h" });
    const askMute = el(d, "button", t("Ask everyone to mute"), { type: "button" });
    askMute.addEventListener("click", () => this.act(() => this.room.mesh!.askAllToMute(), t("Everyone in the call was asked to mute.")));
    const open = el(d, "button", t("Open the circle (nobody holds the piece)"), { type: "button" });
    open.addEventListener("click", () => this.act(() => this.room.mesh!.givePiece(null), t("The circle is open: nobody holds the talking piece.")));
    this.facilitation.append(el(d, "h2", t("Facilitator"), { id: "call-facilitate-h" }), askMute, open);
    this.media = el(d, "div", undefined, { class: "call-media" });
    this.inCall = el(d, "div", undefined, { id: "call-in" });
    this.inCall.hidden = true;
    this.inCall.append(
      controls,
      el(d, "h2", t("In the call"), { id: "call-people-h" }),
      this.people,
      el(d, "h2", t("Raised hands"), { id: "call-hands-h" }),
      this.noHands,
      this.hands,
      this.facilitation,
      this.media,
    );
    this.root.append(el(d, "h1", t("Live circle"), { id: "call-h" }), el(d, "p", t(NOT_RECORDED), { id: "call-not-recorded" }), this.status, this.alert, this.closed, this.lobby, this.inCall, this.news);
    if (opts.onBack !== undefined) {
      const back = el(d, "button", t("Back to messages"), { type: "button" });
      back.addEventListener("click", () => {
        this.stopTimer();
        void this.leave(null).finally(() => opts.onBack!());
      });
      this.root.append(back);
    }
    main.replaceChildren(this.root);
    main.dataset["screen"] = "call";
    doc.title = t("Live circle · Holdspace");
    room.onChange = () => this.render();
    room.onEvent = (e) => this.onEvent(e);
    this.lobbyTimer = setInterval(() => this.render(), RECHECK_MS); // time opens and closes the circle
    this.render();
  }

  /** Stops looking at the clock (the screen is left). */
  stopTimer(): void {
    if (this.lobbyTimer !== null) clearInterval(this.lobbyTimer);
    this.lobbyTimer = null;
  }

  private nowMs(): number {
    return (this.opts.now ?? Date.now)();
  }

  private checkbox(input: HTMLInputElement, text: string): HTMLElement {
    const p = el(this.doc, "p", undefined, { class: "check" });
    p.append(input, el(this.doc, "label", ` ${text}`, { for: input.id }));
    return p;
  }

  private name(hex: string): string {
    if (hex === this.self) return t("You");
    return label(fromHex(hex));
  }

  private say(text: string): void {
    const p = el(this.doc, "p", text);
    this.news.append(p);
    while (this.news.childElementCount > NEWS_KEPT) this.news.firstElementChild?.remove();
  }

  private isFacilitator(): boolean {
    return this.room.roles().get(this.self) === "facilitator";
  }

  private act(run: () => Promise<void>, done: string): void {
    run().then(
      () => this.say(done),
      (err: unknown) => showProblem(this.doc, this.alert, t("That did not work. Please try again."), err),
    );
  }

  /** "Join": the microphone (and the camera if chosen) asked for now, then the call joined. */
  async join(): Promise<void> {
    if (this.removed) return;
    if (circleAt(this.room.group.state.state.sessions, this.nowMs()).open === null) return this.render(); // closed meanwhile
    this.alert.replaceChildren();
    this.joinButton.disabled = true;
    this.joinPressedAt = performance.now();
    this.firstHeardMs = null;
    let refused: string[];
    try {
      refused = await this.room.join(this.camera.checked, this.voice.checked ? { ratio: 0.75 } : null);
    } catch (err) {
      this.joinButton.disabled = false;
      const denied = err instanceof Error && (err.name === "NotAllowedError" || err.name === "SecurityError");
      showProblem(
        this.doc,
        this.alert,
        denied
          ? t("Your browser did not allow the microphone, so you have not joined. You can allow it in this site's settings in your browser, then press Join again.")
          : t("Your microphone could not be opened, so you have not joined. Is another app using it?"),
        err,
      );
      return;
    }
    this.joinButton.disabled = false;
    if (refused.includes("call.not_member")) {
      await this.room.hangUp();
      showProblem(this.doc, this.alert, t("You are no longer a member of this group, so you cannot join its circle."), new HoldspaceError("call.not_member", "the node refused this member's signals"));
      this.render();
      return;
    }
    const mesh = this.room.mesh!;
    mesh.onRemote = (key, stream) => this.play(toHex(key), stream);
    for (const [hex, link] of mesh.links) if (link.remote !== null) this.play(hex, link.remote);
    this.known = new Set();
    this.say(t("You joined the circle."));
    if (this.polling === null) this.polling = setInterval(() => void this.poll(), POLL_MS);
    this.render();
    this.inCall.querySelector<HTMLButtonElement>("button")?.focus();
  }

  private async leave(sentence: string | null): Promise<void> {
    if (this.polling !== null) clearInterval(this.polling);
    this.polling = null;
    if (this.room.local !== null) await this.room.hangUp(); // removed or not: the microphone is released
    for (const p of this.players.values()) {
      p.srcObject = null;
      p.remove();
    }
    this.players.clear();
    if (sentence !== null) this.say(sentence);
    this.render();
    if (!this.lobby.hidden) this.joinButton.focus();
  }

  private async toggleMute(): Promise<void> {
    const mesh = this.room.mesh;
    if (mesh === null) return;
    await mesh.setMuted(!mesh.muted);
    this.say(mesh.muted ? t("Your microphone is off.") : t("Your microphone is on."));
  }

  private async toggleHand(): Promise<void> {
    const mesh = this.room.mesh;
    if (mesh === null) return;
    const up = !mesh.hands.includes(this.self);
    await mesh.raiseHand(up);
    this.say(up ? t("Your hand is raised.") : t("Your hand is lowered."));
    this.render();
  }

  private onEvent(e: CallEvent): void {
    const by = this.name(e.by);
    if (e.kind === "mute-request") this.say(t("A facilitator ({by}) asked everyone to mute. Your microphone is now off; you can unmute when you are ready.", { by }));
    else if (e.kind === "removed") this.say(t("{name} was removed from the call by a facilitator ({by}).", { name: this.name(e.who), by }));
    else if (e.kind === "removed-me") {
      this.removed = true;
      void this.leave(t("A facilitator ({by}) removed you from this call.", { by }));
    } else if (e.kind === "piece") this.say(e.who === "" ? t("The circle is open: nobody holds the talking piece.") : t("{name} holds the talking piece.", { name: this.name(e.who) }));
    else if (e.kind === "hand" && this.isFacilitator()) {
      const up = this.room.mesh?.hands.includes(e.who) ?? false;
      this.say(up ? t("{name} raised a hand.", { name: this.name(e.who) }) : t("{name} lowered a hand.", { name: this.name(e.who) }));
    }
    this.render();
  }

  /** Plays a member's media: audio through a hidden element, video (if sent) in view. */
  private play(hex: string, stream: MediaStream): void {
    const video = stream.getVideoTracks().length > 0;
    let p = this.players.get(hex);
    if (p === undefined || (video && p.tagName !== "VIDEO")) {
      p?.remove();
      p = video ? el(this.doc, "video", undefined, { "aria-label": t("Camera of {name}", { name: this.name(hex) }), playsinline: "" }) : el(this.doc, "audio");
      p.autoplay = true;
      if (!video) p.hidden = true;
      this.players.set(hex, p);
      this.media.append(p);
    }
    p.srcObject = stream;
    void p.play().catch(() => undefined);
  }

  private async poll(): Promise<void> {
    const mesh = this.room.mesh;
    if (mesh === null || !mesh.isJoined) return;
    const now = performance.now();
    for (const [hex, link] of mesh.links) {
      if (link.pc.connectionState === "closed") continue;
      const got = await inboundAudio(link.pc).catch(() => ({ level: 0, packets: 0 }));
      this.meter.note(hex, got.level, now);
      if (got.packets > 0 && this.firstHeardMs === null && this.joinPressedAt !== null) this.firstHeardMs = now - this.joinPressedAt;
    }
    const any = [...mesh.links.values()].find((l) => l.pc.connectionState === "connected");
    if (any !== undefined && !mesh.muted) this.meter.note(this.self, await outboundLevel(any.pc).catch(() => 0), now);
    const lost = mesh.unreachable();
    const key = lost.join(",");
    if (key !== this.unreachableShown) {
      this.unreachableShown = key;
      if (lost.length === 0) this.alert.replaceChildren();
      else this.alert.replaceChildren(el(this.doc, "p", unreachableSentence(lost.map((h) => this.name(h)), this.room.iceServers.length > 0)));
    }
    this.render();
  }

  /** Brings the screen in line with the call (rows changed in place). */
  render(): void {
    const mesh = this.room.mesh;
    const joined = mesh !== null && mesh.isJoined;
    const circle = joined ? null : circleAt(this.room.group.state.state.sessions, this.nowMs());
    const closed = circle !== null && circle.open === null;
    const sentence = closed ? closedSentence(circle.next === null ? null : { start: circle.next.start, title: null }) : "";
    if (this.closed.textContent !== sentence) this.closed.textContent = sentence;
    this.closed.hidden = !closed;
    this.lobby.hidden = joined || closed;
    this.inCall.hidden = !joined;
    this.joinButton.hidden = this.removed;
    this.facilitation.hidden = !this.isFacilitator();
    const status = this.removed ? t("You were removed from this call.") : !joined ? t("You are not in the call.") : mesh.muted ? t("You are in the circle. Your microphone is off.") : t("You are in the circle. Your microphone is on.");
    if (this.status.textContent !== status) this.status.textContent = status;
    if (!joined) {
      this.people.replaceChildren();
      this.rows.clear();
      this.hands.replaceChildren();
      return;
    }
    setText(this.muteButton, mesh.muted ? t("Unmute") : t("Mute"));
    this.muteButton.setAttribute("aria-pressed", String(mesh.muted));
    const handUp = mesh.hands.includes(this.self);
    setText(this.handButton, handUp ? t("Lower my hand") : t("Raise my hand"));
    this.handButton.setAttribute("aria-pressed", String(handUp));

    const here = [this.self, ...mesh.inCall()];
    const now = new Set(here);
    for (const hex of now) if (!this.known.has(hex) && hex !== this.self) this.say(t("{name} joined the call.", { name: this.name(hex) }));
    for (const hex of this.known) if (!now.has(hex) && hex !== this.self && !mesh.barred.has(hex)) this.say(t("{name} left the call.", { name: this.name(hex) }));
    this.known = now;
    for (const [hex, row] of this.rows) {
      if (!now.has(hex)) {
        row.li.remove();
        this.rows.delete(hex);
        this.players.get(hex)?.remove();
        this.players.delete(hex);
      }
    }
    const holder = shownHolder(sessionHolderOf(this.room.group, this.nowMs()), mesh.holder);
    const facilitator = this.isFacilitator();
    const at = performance.now();
    for (const hex of here) {
      const row = this.rows.get(hex) ?? this.row(hex, facilitator);
      const role = mesh.roleOf(hex);
      setText(row.name, role === "facilitator" ? t("{name} · facilitator", { name: this.name(hex) }) : role === "moderator" ? t("{name} · moderator", { name: this.name(hex) }) : this.name(hex));
      const speaking = this.meter.speaking(hex, at);
      setText(row.speaking, speaking ? t("◉ speaking") : t("○ quiet"));
      row.speaking.dataset["speaking"] = String(speaking);
      const holds = holder === hex;
      setText(row.piece, holds ? t("holds the talking piece") : "");
      row.piece.hidden = !holds;
      row.li.classList.toggle("holder", holds);
      if (row.give !== null) row.give.hidden = !facilitator;
      if (row.remove !== null) row.remove.hidden = !facilitator;
    }
    const handTexts = mesh.hands.filter((h) => h === this.self || now.has(h)).map((h) => this.name(h));
    const shown = [...this.hands.children].map((li) => li.textContent);
    if (shown.join("\n") !== handTexts.join("\n")) this.hands.replaceChildren(...handTexts.map((n) => el(this.doc, "li", n)));
    this.noHands.hidden = handTexts.length > 0;
    this.hands.hidden = handTexts.length === 0;
  }

  private row(hex: string, facilitator: boolean): Row {
    const d = this.doc;
    const li = el(d, "li", undefined, { "data-member": hex });
    const name = el(d, "strong");
    const speaking = el(d, "span", undefined, { class: "speaking" });
    const piece = el(d, "span", undefined, { class: "piece" });
    li.append(name, d.createTextNode(" "), speaking, d.createTextNode(" "), piece);
    let give: HTMLButtonElement | null = null;
    let remove: HTMLButtonElement | null = null;
    const who = this.name(hex);
    give = el(d, "button", t("Give the talking piece"), { type: "button", "aria-label": hex === this.self ? t("Give the talking piece to yourself") : t("Give the talking piece to {who}", { who }) });
    give.addEventListener("click", () => this.act(() => this.room.mesh!.givePiece(hex), t("{name} holds the talking piece.", { name: who })));
    const actions = el(d, "div", undefined, { class: "call-row-actions" });
    actions.append(give);
    if (hex !== this.self) {
      remove = el(d, "button", t("Remove"), { type: "button", "aria-label": t("Remove {who} from the call", { who }) });
      remove.addEventListener("click", () => this.act(() => this.room.mesh!.removeFromCall(hex), t("{who} was removed from the call.", { who })));
      actions.append(remove);
    }
    give.hidden = !facilitator;
    if (remove !== null) remove.hidden = !facilitator;
    li.append(actions);
    const r: Row = { li, name, speaking, piece, give, remove };
    this.rows.set(hex, r);
    if (hex === this.self) this.people.prepend(li);
    else this.people.append(li);
    return r;
  }
}

function setText(e: HTMLElement, text: string): void {
  if (e.textContent !== text) e.textContent = text;
}

