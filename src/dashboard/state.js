/* argybargy dashboard: The dashboard's one mutable state (S) and its render signatures (T). */

export const S = {
  token: "",
  locked: null,          // null | {status, refused}; status 0 = no token stored
  snap: null, fetchedAt: 0, skew: 0, lastFetchAttempt: 0,
  conn: "idle",
  view: { room: null, agent: null },
  tl: newTimeline(null),
  stuck: true,
  seen: new Map(),
  showClosed: false,
  theme: "auto",
  composer: { sender: "operator", to: "all", expects: null, sending: false, replyTo: null },
  armed: { close: null, revoke: null, regen: null },
  invitedOpen: false, navOpen: false, drawerOpen: false, menuOpen: false,
  prevOnline: new Map(), joinedAt: new Map(),
  feedGen: 0, feedCursor: null, feedCtl: null, feedBroken: false,
  recheckTimer: 0, mintRoom: null, sig: {}, fetchN: 0,
  threadsOpen: new Set(),  // "room:seq" of expanded threads
  receiptsOpen: null,      // "room:seq" of the message whose receipt list is shown
  resuming: null,          // room whose resume request is in flight
};
export const T = { inbox: [], rooms: [], agents: [], head: [], tl: [], drawer: [] };

export function newTimeline(room) {
  return { room, msgs: [], loaded: false, noMore: false, loadingOlder: false, olderFailedAt: 0 };
}
