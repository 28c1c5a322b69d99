import { hashCode } from "../../src/relay/codes.ts";
import type { Store } from "../../src/relay/ports.ts";

/** Every read a user relies on, gathered from one store, so two stores can be compared whole. */
export async function everyRead(store: Store, rooms: string[], viewers: string[], codes: string[]) {
  const now = Date.now();
  const perRoom: Record<string, unknown> = {};
  for (const room of rooms) {
    const views: Record<string, unknown> = {};
    for (const v of viewers) {
      views[v] = {
        since0: await store.readSince(room, 0, v),
        since2: await store.readSince(room, 2, v),
        history: await store.history(room, v, 50),
      };
    }
    const participants = await store.participants(room, now);
    perRoom[room] = {
      views,
      tail: await store.readTail(room, 100),
      admin: await store.adminMessages(room, null, 60),
      adminBefore: await store.adminMessages(room, 3, 60),
      status: await store.getRoomStatus(room),
      posters: [...participants.posters].sort(),
      holders: [...participants.codeHolders].sort(),
      cursors: await store.listCursors(room),
      claims: await Promise.all([1, 2, 3, 4, 5, 6].map((seq) => store.getMessage(room, seq))),
      receipts: await Promise.all([1, 2, 3, 4, 5, 6].map(async (seq) => (await store.receiptTimes(room, seq)).sort((a, b) => a.name.localeCompare(b.name)))),
    };
  }
  const found = [];
  for (const code of codes) {
    const row = await store.findCode(hashCode(code));
    found.push(row && { ...row, id: 0 });
  }
  return {
    perRoom,
    allAdmin: await store.adminMessages(null, null, 60),
    waiting: await store.waiting(100),
    summaries: (await store.listRoomSummaries()).sort((a, b) => a.room.localeCompare(b.room)),
    statuses: await store.listRoomStatuses(),
    posters: (await store.listPosters()).sort((a, b) => `${a.room}/${a.name}`.localeCompare(`${b.room}/${b.name}`)),
    codes: (await store.listCodes()).map((c) => ({ ...c, id: 0 })),
    found,
    countCodes: await store.countCodes(),
    countMessages: await store.countMessages(),
    audit: await store.listAudit(1000),
  };
}
