/**
 * The browser's recovery key and its backup on the home node (spec 14.7, 14.8): a recovery key made
 * once, shown once as words and never stored (the profile keeps only the backup key derived from
 * it); the identity's backup (the master secret, the home node, the memberships) sealed under it and
 * kept on the node under its backup id; and the way back, from the words alone.
 *
 * Invariants: what is put on a node is only the sealed backup file (the node cannot open it); the
 * words leave `makeRecoveryKey` and are not kept anywhere by this module.
 */
import type { Backup, Membership } from "./recovery.js";
import { backupId, backupKey, newRecoveryKey, openBackup, parseWords, recoveryWords, sealBackup } from "./recovery.js";
import { fail } from "./errors.js";
import type { GroupRecord, Profile } from "./profile.js";

/** What a node session must offer for backups (`NodeClient` does). */
export interface BackupLink {
  putBackup(backupId: Uint8Array, group: Uint8Array, data: Uint8Array): Promise<void>;
  getBackup(backupId: Uint8Array): Promise<Uint8Array>;
}

/** The backup of `p`: its master secret, home node and memberships (their log positions as known). */
export function backupOf(p: Profile): Backup {
  const groups: Membership[] = p.groups.map((g) => ({ groupId: g.groupId, context: g.context, name: null, hosts: [...g.hosts], seq: g.seq, prev: g.prev }));
  return { master: p.master, node: p.node === "" ? null : p.node, groups };
}

/** A new recovery key for `p`: its backup key is kept in the profile (the caller saves it); the
 * 13 words are returned, to be shown once. */
export function makeRecoveryKey(p: Profile): string[] {
  const key = newRecoveryKey();
  p.backupKey = backupKey(key);
  return recoveryWords(key);
}

/** Puts the backup of `p` on the node of `link`, a session authenticated as a current member of
 * `group` there (14.8 rule 1). Needs a backup key (`client.no_identity` otherwise). */
export async function putBackupOnNode(p: Profile, link: BackupLink, group: GroupRecord): Promise<void> {
  const key = p.backupKey ?? fail("client.no_identity", "make a recovery key first");
  await link.putBackup(backupId(key), group.groupId, sealBackup(key, backupOf(p)));
}

/** The backup kept on the node of `link` for the recovery key typed as `words` (`recovery.*` for
 * the words, `proto.not_found` if the node keeps none, `backup.*` if it does not open), and the
 * backup key, for later backups. */
export async function fetchBackup(link: BackupLink, words: string): Promise<{ backup: Backup; key: Uint8Array }> {
  const key = backupKey(parseWords(words));
  return { backup: openBackup(key, await link.getBackup(backupId(key))), key };
}
