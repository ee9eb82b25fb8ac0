/**
 * The page's journey (spec 14.3, 14.4, 15.8): `/join#hsinvite:…` shows the invitation, then a new
 * passphrase (or, with an identity already in this browser, the passphrase to unlock it), then
 * joins and opens the conversation; `/` asks for the passphrase and opens "Your groups" (ui/groups.ts:
 * each group, the one opened last first; "Start a group"; "Join another group" by its link), or, in
 * a browser that holds exactly one group, that group's conversation. Every group's page has "Your
 * groups" in its menu; going back there stops everything that page started (its session too).
 * "Need help now?" sits above every screen.
 *
 * Keys live only in this browser: the identity sealed under the passphrase in IndexedDB
 * (keystore.ts), the history sealed under a key inside it (history.ts). After a join the address
 * bar drops the invite (the fragment), so the token is not left on the screen or in the history.
 *
 * The page registers the service worker (sw_register.ts) that keeps the shell for offline use, and
 * whenever the browser comes back online it opens a new session and reconnects the conversation,
 * which sends what waits in the outbox (outbox.ts).
 */
import { equalBytes } from "./bytes.js";
import { parseNodeAddress } from "./address.js";
import { HISTORY_STORES } from "./history.js";
import type { ParsedInvite } from "./invite.js";
import { missing, showJoinScreen } from "./join_page.js";
import { KEYS_STORE, KeyStore } from "./keystore.js";
import { type FlushResult, flushWhenOnline } from "./outbox.js";
import { Conversation, type Participant, Participant as P } from "./participant.js";
import { ensureFirstEpoch, listGroups, opened, rememberName, startGroup } from "./groups.js";
import { parseInvite } from "./invite.js";
import { profileName } from "./notify.js";
import { showGroups } from "./ui/groups.js";
import { type NodeAdmission, showStartGroup } from "./ui/start_group.js";
import { IndexedDBStorage, type Storage } from "./storage.js";
import { registerServiceWorker } from "./sw_register.js";
import { fetchEndpoints, openChannel } from "./transport.js";
import { NodeClient } from "./transport_client.js";
import { CallRoom } from "./call/room.js";
import { circleCallId } from "./call/signal.js";
import type { GroupRecord } from "./profile.js";
import { CallScreen } from "./ui/call.js";
import { ConversationScreen } from "./ui/conversation.js";
import { el, showProblem } from "./ui/dom.js";
import { attachFacilitation } from "./ui/facilitation.js";
import { addGroupMenu } from "./ui/group_menu.js";
import { VisitBook } from "./notify.js";
import { attachNotices } from "./ui/unread.js";
import { fetchBackup, makeRecoveryKey, putBackupOnNode } from "./identity_backup.js";
import { restoreButton, showRecoveryKey, showRestore } from "./ui/recovery.js";
import { addSessions } from "./ui/sessions.js";
import { Help } from "./ui/help.js";
import { attachCareNote, attachCareSettings } from "./ui/care_note.js";
import { CareSettings, watchIdle } from "./idle.js";
import { showChoosePassphrase, showUnlock } from "./ui/passphrase.js";
import { installCatalogues } from "./catalogues.js";
import { language, t } from "./i18n.js";
import { applyLanguage, LanguageSetting, languageFor, readHint, writeHint } from "./language.js";
import { attachLanguageSetting } from "./ui/language.js";

export const DATABASE = "holdspace";

interface Ctx {
  readonly doc: Document;
  readonly main: HTMLElement;
  readonly help: Help;
  readonly storage: Storage;
  readonly keys: KeyStore;
}

/** A session with the node that served the page, its key checked against its address. */
async function connect(): Promise<{ client: NodeClient; address: string; nodeKey: Uint8Array }> {
  const endpoints = await fetchEndpoints();
  const nodeKey = parseNodeAddress(endpoints.address).nodeKey;
  const client = new NodeClient(await openChannel(endpoints, { timeoutMs: 15_000 }));
  await client.greet(nodeKey);
  return { client, address: endpoints.address, nodeKey };
}

/**
 * Opens the conversation of `record` over `client` (a new session if null). Everything the screen
 * starts (the session and its subscription, the facilitator's timers, the notices, the idle lock,
 * the listeners of the window) stops when the person goes back to "Your groups": nothing of one
 * group's page goes on working while another's is open.
 */
async function openConversation(ctx: Ctx, me: Participant, record: GroupRecord, client: NodeClient | null, hint: string | null = null): Promise<void> {
  await opened(me, record);
  const scope = new AbortController();
  const languages = new LanguageSetting(me.history);
  const chosen = await languages.read();
  applyLanguage(ctx.doc, languageFor(chosen, ctx.doc.defaultView?.navigator.languages ?? []));
  writeHint(ctx.doc.defaultView, chosen); // the unlock screen shows this device's choice
  const conv = new Conversation(me, record);
  let current = client;
  const circle = (): void => {
    if (current === null) return;
    const saved = { nodes: [...ctx.main.childNodes], title: ctx.doc.title }; // what someone typed stays
    void openCircle(ctx, me, record, current, () => {
      ctx.main.replaceChildren(...saved.nodes);
      ctx.doc.title = saved.title;
      conv.onChange();
    });
  };
  const screen = new ConversationScreen(ctx.doc, ctx.main, conv, ctx.help);
  if (hint !== null) ctx.main.querySelector("h1")?.after(el(ctx.doc, "p", hint, { role: "status", id: "started-hint" }));
  addSessions(ctx.doc, ctx.main, conv, circle, scope.signal); // the way into the live circle, while a session is on
  const fac = attachFacilitation(ctx.doc, ctx.main, conv, ctx.doc.defaultView?.location.origin ?? "", scope.signal);
  const lockPage = (): void => {
    current?.close();
    ctx.doc.defaultView?.location.replace("/"); // a new page: nothing of this one's keys stays in memory
  };
  let stopIdle: () => void = () => undefined;
  let stopOnline: () => void = () => undefined;
  const leave = (): void => {
    scope.abort();
    fac.stop();
    stopIdle();
    stopOnline();
    conv.onChange = () => undefined;
    current?.close();
    current = null;
    void rememberName(me, record.groupId, profileName(conv)).catch(() => undefined);
  };
  addGroupMenu(ctx.doc, ctx.main, conv, lockPage, () => {
    leave();
    ctx.doc.defaultView?.history.replaceState(null, "", "/");
    void showHome(ctx, me);
  });
  const care = new CareSettings(me.history);
  let careOn = (await care.read()).check;
  attachCareNote(ctx.doc, ctx.main, conv, ctx.help, () => careOn);
  stopIdle = ctx.doc.defaultView === null ? () => undefined : watchIdle(ctx.doc.defaultView, (await care.read()).idleMinutes, lockPage);
  attachCareSettings(ctx.doc, ctx.main, care, (choices) => {
    careOn = choices.check;
    stopIdle();
    stopIdle = ctx.doc.defaultView === null ? () => undefined : watchIdle(ctx.doc.defaultView, choices.idleMinutes, lockPage);
  });
  const settingsBox = ctx.doc.getElementById("care-settings");
  if (settingsBox !== null) attachLanguageSetting(ctx.doc, settingsBox, languages, language(), lockPage);
  const notices = attachNotices(ctx.doc, ctx.main, conv, new VisitBook(me.history), ctx.doc.defaultView, Date.now, scope.signal);
  const reconnect = async (next: NodeClient): Promise<FlushResult> => {
    if (scope.signal.aborted) {
      next.close(); // the page opened another group meanwhile
      return { sent: [], refused: [], stoppedBy: "web.unreachable" };
    }
    if (current !== null && next !== current) current.close();
    current = next;
    const node = next.hello?.node;
    const here = node === undefined || record.hosts.some((h) => equalBytes(parseNodeAddress(h).nodeKey, node));
    const flushed = await conv.connect(next, here);
    await ensureFirstEpoch(conv); // a group started here whose first epoch was not published yet
    screen.reachable();
    return flushed;
  };
  const win = ctx.doc.defaultView;
  if (win !== null) stopOnline = flushWhenOnline(win, async () => reconnect((await connect()).client));
  try {
    await reconnect(current ?? (await connect()).client);
  } catch (err) {
    screen.unreachable(err); // the screen stays: what was written is kept in the outbox
  }
  if (scope.signal.aborted) return; // the person went back to "Your groups" meanwhile
  await notices.settle(); // "New since your last visit", and notices from here on
  await rememberName(me, record.groupId, profileName(conv)).catch(() => undefined);
}

/** After unlocking: the one group there is, or "Your groups" (none, or several). `client`: a
 * session already open, used for the one group (else closed). */
async function home(ctx: Ctx, me: Participant, client: NodeClient | null): Promise<void> {
  const only = me.profile.groups.length === 1 ? me.profile.groups[0] : undefined;
  if (only !== undefined) return openConversation(ctx, me, only, client);
  client?.close();
  await showHome(ctx, me);
}

/** "Your groups" (ui/groups.ts). */
async function showHome(ctx: Ctx, me: Participant): Promise<void> {
  showGroups(ctx.doc, ctx.main, await listGroups(me), {
    open: (item) => void openConversation(ctx, me, item.record, null),
    start: () => startScreen(ctx, me),
    join: async (text) => {
      const invite = parseInvite(text.includes("#") && !text.includes("://") ? text.slice(text.indexOf("#") + 1) : text);
      const link = await connect();
      await join(ctx, invite, me, link).catch((e: unknown) => {
        link.client.close();
        throw e;
      });
    },
    lock: () => ctx.doc.defaultView?.location.replace("/"),
  });
}

/** "Start a group" (ui/start_group.ts, groups.ts): on the node that serves the page, asked first
 * whether it lets people start groups (its hello's `create` and `contact`, 14.6; unknown if it
 * cannot be reached); then the group's page, with a first hint (after the recovery key, for an
 * identity that has none yet). */
function startScreen(ctx: Ctx, me: Participant): void {
  void connect().then(
    (link) => {
      const hello = link.client.hello;
      link.client.close();
      startForm(ctx, me, { create: hello?.create ?? null, contact: hello?.contact ?? null });
    },
    () => startForm(ctx, me, { create: null, contact: null }),
  );
}

/** The form of "Start a group", for a node whose admission is `admission`. */
function startForm(ctx: Ctx, me: Participant, admission: NodeAdmission): void {
  showStartGroup(
    ctx.doc,
    ctx.main,
    async (about, token) => {
      const link = await connect();
      let conv: Conversation;
      try {
        conv = await startGroup(me, link.client, about, token);
      } catch (e) {
        link.client.close();
        throw e;
      }
      const record = conv.record;
      const open = (): void => void openConversation(ctx, me, record, null, t('Your group is ready, and you are its facilitator. To bring people in, choose "Invite someone" in the facilitator tools.'));
      if (me.profile.backupKey !== null) {
        await putBackupOnNode(me.profile, link.client, record).catch(() => undefined); // the new membership
        link.client.close(); // the group's page opens its own session (one conversation of the group at a time)
        open();
        return;
      }
      const words = makeRecoveryKey(me.profile); // shown once, never kept
      await me.save();
      const problem = await putBackupOnNode(me.profile, link.client, record).then(() => null, (e: unknown) => e ?? "error");
      link.client.close(); // the group's page opens its own session
      showRecoveryKey(ctx.doc, ctx.main, words, problem, open);
    },
    () => void showHome(ctx, me),
    admission,
  );
}

/** "Start a new group instead", in a browser without an identity: a passphrase first (the
 * identity is made then), then "Start a group". */
function startFirst(ctx: Ctx): void {
  let made: Participant | null = null; // a second try keeps the identity made
  showChoosePassphrase(
    ctx.doc,
    ctx.main,
    async (passphrase) => {
      const link = await connect();
      link.client.close();
      made ??= await P.create(ctx.keys, ctx.storage, passphrase, link.address);
      startScreen(ctx, made);
    },
    t("Continue"),
    t("Making your keys. This takes a few seconds…"),
  );
}

/** The group's live circle on its own screen, over the conversation's session (`ui/call.ts`);
 * "Back to messages" leaves the call and shows the conversation again. */
async function openCircle(ctx: Ctx, me: Participant, record: GroupRecord, client: NodeClient, back: () => void): Promise<void> {
  const p = me.pseudonym(record);
  const room = new CallRoom(client, { group: record.groupId, seed: p.ed25519Seed, x25519Secret: p.x25519Secret, call: circleCallId(record.groupId) });
  try {
    await room.open();
  } catch (err) {
    const area = el(ctx.doc, "div", undefined, { role: "alert" });
    showProblem(ctx.doc, area, t("The live circle cannot be opened right now: the group's node cannot be reached."), err);
    ctx.main.prepend(area);
    return;
  }
  new CallScreen(ctx.doc, ctx.main, room, { onBack: () => void room.close().finally(back) });
}

async function join(ctx: Ctx, invite: ParsedInvite, me: Participant, link: { client: NodeClient; nodeKey: Uint8Array }): Promise<void> {
  const here = invite.token.nodes.some((n) => equalBytes(n.nodeKey, link.nodeKey));
  if (me.group(invite.token.groupId) === undefined) {
    await me.join(link.client, invite.token, here);
    await new VisitBook(me.history).rememberName(invite.token.groupId, invite.token.name); // until its profile is read
  }
  const loc = ctx.doc.defaultView?.location;
  if (loc !== undefined) ctx.doc.defaultView?.history.replaceState(null, "", "/");
  const record = me.group(invite.token.groupId)!; // added to the others: the conversation opens it first in the list
  if (me.profile.backupKey !== null) {
    void putBackupOnNode(me.profile, link.client, record).catch(() => undefined); // the new membership
    await openConversation(ctx, me, record, link.client);
    return;
  }
  const words = makeRecoveryKey(me.profile); // shown once, never kept
  await me.save();
  const problem = await putBackupOnNode(me.profile, link.client, record).then(() => null, (e: unknown) => e ?? "error");
  showRecoveryKey(ctx.doc, ctx.main, words, problem, () => void openConversation(ctx, me, record, link.client));
}

/** "Restore on this device" (14.8): the backup the node keeps for the words, opened, sealed here. */
function startRestore(ctx: Ctx): void {
  showRestore(ctx.doc, ctx.main, async (words, passphrase) => {
    const link = await connect();
    const { backup, key } = await fetchBackup(link.client, words);
    const me = await P.restore(ctx.keys, ctx.storage, passphrase, backup, key);
    await home(ctx, me, link.client);
  });
}

function startJoin(ctx: Ctx, invite: ParsedInvite): void {
  void ctx.keys.exists().then((exists) => {
    if (exists)
      showUnlock(ctx.doc, ctx.main, async (passphrase) => {
        const me = await P.unlock(ctx.keys, ctx.storage, passphrase);
        await join(ctx, invite, me, await connect());
      });
    else {
      let made: Participant | null = null; // a second try after a failed join keeps the identity made
      showChoosePassphrase(ctx.doc, ctx.main, async (passphrase) => {
        const link = await connect();
        made ??= await P.create(ctx.keys, ctx.storage, passphrase, link.address);
        await join(ctx, invite, made, link);
      });
      ctx.main.append(restoreButton(ctx.doc, t("Have recovery words from before? Restore them first"), () => startRestore(ctx)));
    }
  });
}

/** Starts the page in `doc` at `loc`. */
export async function startApp(doc: Document, loc: Location): Promise<void> {
  const main = doc.querySelector("main");
  if (main === null) return;
  installCatalogues();
  applyLanguage(doc, languageFor(readHint(doc.defaultView), doc.defaultView?.navigator.languages ?? []));
  if (doc.defaultView !== null) void registerServiceWorker(doc.defaultView.navigator);
  const help = new Help(doc);
  main.before(help.banner);
  let storage: Storage;
  try {
    storage = await IndexedDBStorage.open(DATABASE, [KEYS_STORE, ...HISTORY_STORES]);
  } catch (err) {
    main.replaceChildren(el(doc, "h1", t("This browser cannot keep your keys")));
    const area = el(doc, "div");
    showProblem(doc, area, t("It may be in a private mode that keeps nothing. Please open the link in a normal browser window."), err);
    main.append(area);
    return;
  }
  const ctx: Ctx = { doc, main, help, storage, keys: new KeyStore(storage) };
  if (loc.pathname === "/join") {
    const show = (): void =>
      void showJoinScreen(doc, main, loc.hash, (invite) => {
        doc.defaultView?.removeEventListener("hashchange", show); // from here on the page joins this invite
        startJoin(ctx, invite);
      });
    show();
    doc.defaultView?.addEventListener("hashchange", show);
    return;
  }
  if (await ctx.keys.exists()) {
    showUnlock(doc, main, async (passphrase) => {
      const me = await P.unlock(ctx.keys, ctx.storage, passphrase);
      await home(ctx, me, me.profile.groups.length === 1 ? (await connect()).client : null);
    });
    main.append(restoreButton(doc, t("Forgot your passphrase? Restore with your recovery words"), () => startRestore(ctx)));
  } else {
    main.replaceChildren(...missing(doc), restoreButton(doc, t("Restore on this device"), () => startRestore(ctx)));
    main.append(restoreButton(doc, t("Start a new group instead"), () => startFirst(ctx)));
  }
}
