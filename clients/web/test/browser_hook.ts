/**
 * A test hook module for the browser tests of the offline client and of recovery
 * (tests/web/test_browser_offline.py): the library driven directly from the page, without screens.
 * Built by the test with esbuild into a copy of `dist/` and named by the page (pinned by its hash
 * like the bundle), so the service worker keeps it with the shell. Not part of the product.
 *
 * On load it registers the service worker (as the app's start does). Writing goes through the app's
 * own conversation (participant.ts) and its outbox (outbox.ts): `useIdentity` makes the conversation
 * of a member, and when the browser comes back online it reconnects it, as the app does.
 */
import { fromHex, toHex } from "../src/bytes.js";
import { type CborMap, type CborValue, decode, encode } from "../src/cbor.js";
import { publicKey, randomBytes } from "../src/crypto.js";
import { createEntry, decodeEntry } from "../src/entry.js";
import { HISTORY_STORES, HistoryStore } from "../src/history.js";
import { createIdentityDocument, derivePseudonym } from "../src/identity.js";
import { KEYS_STORE, KeyStore } from "../src/keystore.js";
import { Outbox, flushWhenOnline } from "../src/outbox.js";
import { Conversation, type NodeLink, Participant } from "../src/participant.js";
import { encodeProfile, type GroupRecord, type Profile } from "../src/profile.js";
import { backupId, backupKey, newRecoveryKey, openBackup, parseWords, recoveryWords, sealBackup } from "../src/recovery.js";
import { IndexedDBStorage } from "../src/storage.js";
import { registerServiceWorker } from "../src/sw_register.js";
import { fetchEndpoints, openChannel } from "../src/transport.js";
import { NodeClient } from "../src/transport_client.js";
import { parseNodeAddress } from "../src/address.js";

const DB = "holdspace";
const HISTORY_KEY = new Uint8Array(32).fill(0x48); // the tests' history key (the app keeps a random one, sealed)
const FAST = { ops: 1, mem: 8192 }; // Argon2id cost for tests only
const PASSPHRASE = "the tests' passphrase";

export const registered = registerServiceWorker();

async function storage(): Promise<IndexedDBStorage> {
  return IndexedDBStorage.open(DB, [...HISTORY_STORES, KEYS_STORE]);
}

async function outbox(): Promise<Outbox> {
  return new Outbox(await HistoryStore.open(await storage(), HISTORY_KEY, 1 << 24));
}

/** A session with the page's node (over the WebSocket: the tests' network emulation covers it),
 * greeted, and authenticated as `seed` if given. */
export async function connect(seed: Uint8Array | null): Promise<NodeClient> {
  const endpoints = await fetchEndpoints();
  const client = new NodeClient(await openChannel(endpoints, { forceWebSocket: true, timeoutMs: 5000 }));
  await client.greet(parseNodeAddress(endpoints.address).nodeKey);
  if (seed !== null) await client.authenticate(seed);
  return client;
}

let conv: Conversation | null = null;
let onlineFlushes = 0;

function conversation(): Conversation {
  if (conv === null) throw new Error("useIdentity first");
  return conv;
}

/**
 * Be, in this page, the member of `groupHex` whose master secret is `masterHex` (its pseudonym's
 * context `contextHex`, its log head `seq`, `prevHex`): a profile sealed in IndexedDB (made once,
 * unlocked when the page opens again) and the conversation the app shows, not connected yet; from
 * now on the browser coming online reconnects it, which sends its outbox. Works offline.
 */
export async function useIdentity(masterHex: string, groupHex: string, contextHex: string, seq: number, prevHex: string): Promise<void> {
  const s = await storage();
  const keys = new KeyStore(s, FAST);
  if (!(await keys.exists())) {
    const record: GroupRecord = { groupId: fromHex(groupHex), context: fromHex(contextHex), hosts: [], seq: BigInt(seq), prev: fromHex(prevHex), join: null, sent: new Map() };
    const profile: Profile = { master: fromHex(masterHex), historyKey: HISTORY_KEY, node: "", groups: [record], backupKey: null };
    await keys.create(PASSPHRASE, encodeProfile(profile));
  }
  const me = await Participant.unlock(keys, s, PASSPHRASE);
  const c = new Conversation(me, me.profile.groups[0]!);
  conv = c;
  flushWhenOnline(
    window,
    async () => c.connect(await connect(null)),
    () => {
      onlineFlushes++;
    },
  );
}

/** How many flushes the `online` event ran. */
export function flushesOnline(): number {
  return onlineFlushes;
}

/** Write `count` messages in the conversation, as the app's Send does (kept in the outbox; sent at
 * once only if the conversation is connected). Works offline. */
export async function queue(count: number): Promise<void> {
  for (let i = 1; i <= count; i++) await conversation().send(`queued ${i}`);
}

/** Items waiting in the outbox. */
export async function pendingCount(): Promise<number> {
  return (await (await outbox()).pending()).length;
}

/** The texts of this member's own messages the conversation shows (read back from the node). */
export function mine(): string[] {
  return conversation().view().messages.filter((m) => m.mine).map((m) => m.text);
}

/** Connect the conversation through a session whose publish acknowledgements never arrive (the page is
 * about to be closed mid-send): resolves with the id of the first entry published, once written. */
export async function sendWithoutAck(): Promise<string> {
  const client = await connect(null);
  let written!: (id: string) => void;
  const wrote = new Promise<string>((r) => (written = r));
  const deaf: NodeLink = {
    authenticate: (seed) => client.authenticate(seed),
    subscribe: (g, after, onEvent) => client.subscribe(g, after, onEvent),
    request(op: string, fields: CborMap): Promise<CborMap> {
      if (op !== "publish") return client.request(op, fields);
      void client.request(op, fields).catch(() => undefined);
      written(toHex(decodeEntry(fields.get("e") as Uint8Array, fields.get("b") as Uint8Array).id));
      return new Promise<CborMap>(() => undefined);
    },
  };
  void conversation().connect(deaf);
  return wrote;
}

/** Connect the conversation now (which sends the outbox); returns how many items were acknowledged. */
export async function flushNow(): Promise<number> {
  const client = await connect(null);
  const r = await conversation().connect(client);
  return r.sent.length;
}

// -- recovery: an identity made here, backed up to the node, restored after site data is cleared ----

interface Identity {
  master: Uint8Array;
  groups: { g: Uint8Array; ctx: Uint8Array; seq: bigint; prev: Uint8Array }[];
}

function encodeIdentity(i: Identity): Uint8Array {
  return encode({ master: i.master, groups: i.groups.map((g) => ({ g: g.g, ctx: g.ctx, seq: g.seq, prev: g.prev })) });
}

function decodeIdentity(raw: Uint8Array): Identity {
  const v = decode(raw) as Map<string, CborValue>;
  const groups = (v.get("groups") as Map<string, CborValue>[]).map((g) => ({
    g: g.get("g") as Uint8Array,
    ctx: g.get("ctx") as Uint8Array,
    seq: g.get("seq") as bigint,
    prev: g.get("prev") as Uint8Array,
  }));
  return { master: v.get("master") as Uint8Array, groups };
}

/** A new identity sealed in IndexedDB under `passphrase`, founding a group on the node; then a recovery
 * key, and the backup kept on the node. Returns the words and the pseudonym and group, as hex. */
export async function createAndBackUp(passphrase: string): Promise<{ words: string; pseudonym: string; group: string }> {
  const master = randomBytes(32);
  const nonce = randomBytes(16);
  const ctx = new Uint8Array([...new TextEncoder().encode("genesis:"), ...nonce]);
  const p = derivePseudonym(master, ctx);
  const now = BigInt(Date.now());
  const payload = encode({ n: nonce, doc: createIdentityDocument(p, now), hv: "joined" });
  const genesis = createEntry(p.ed25519Seed, { group: new Uint8Array(32), seq: 1n, prev: null, timeMs: now, kind: 1n, payload });
  const client = await connect(p.ed25519Seed);
  await client.request("publish", new Map<string, CborValue>([["e", genesis.bytes], ["b", payload]]));
  const identity: Identity = { master, groups: [{ g: genesis.id, ctx, seq: 1n, prev: genesis.id }] };
  await new KeyStore(await storage(), FAST).create(passphrase, encodeIdentity(identity));
  const rkey = newRecoveryKey();
  const bkey = backupKey(rkey);
  const endpoints = await fetchEndpoints();
  const sealed = sealBackup(bkey, {
    master,
    node: endpoints.address,
    groups: identity.groups.map((g) => ({ groupId: g.g, context: g.ctx, name: "Thursday circle", hosts: [endpoints.address], seq: g.seq, prev: g.prev })),
  });
  await client.putBackup(backupId(bkey), genesis.id, sealed);
  client.close();
  return { words: recoveryWords(rkey).join(" "), pseudonym: toHex(p.ed25519Public), group: toHex(genesis.id) };
}

/** Whether this browser holds an identity (a sealed key file in IndexedDB). */
export async function hasIdentity(): Promise<boolean> {
  return new KeyStore(await storage(), FAST).exists();
}

/** Restore from the node with the words alone: fetch the backup by its id, open it, seal the identity
 * in IndexedDB under `passphrase`, and ask the node, as the restored pseudonym, who the members are. */
export async function restoreFromNode(words: string, passphrase: string): Promise<{ pseudonyms: string[]; groups: string[]; members: string[][] }> {
  const key = backupKey(parseWords(words));
  const anonymous = await connect(null);
  const backup = openBackup(key, await anonymous.getBackup(backupId(key)));
  anonymous.close();
  const identity: Identity = { master: backup.master, groups: backup.groups.map((g) => ({ g: g.groupId, ctx: g.context, seq: g.seq, prev: g.prev ?? g.groupId })) };
  const keys = new KeyStore(await storage(), FAST);
  await keys.create(passphrase, encodeIdentity(identity));
  const reopened = decodeIdentity(await keys.unlock(passphrase));
  const pseudonyms = reopened.groups.map((g) => derivePseudonym(reopened.master, g.ctx));
  const members: string[][] = [];
  for (const [i, g] of reopened.groups.entries()) {
    const client = await connect(pseudonyms[i]!.ed25519Seed);
    const state = await client.request("state", new Map<string, CborValue>([["g", g.g]]));
    members.push((state.get("members") as [Uint8Array, string][]).map(([k]) => toHex(k)));
    client.close();
  }
  return { pseudonyms: pseudonyms.map((p) => toHex(publicKey(p.ed25519Seed))), groups: reopened.groups.map((g) => toHex(g.g)), members };
}


