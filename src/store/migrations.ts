/**
 * Append-only schema steps; step i (0-based) moves `PRAGMA user_version` from i to i + 1.
 * Never edit a released step: add a new one.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    room TEXT NOT NULL,
    seq INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    from_name TEXT NOT NULL,
    to_name TEXT NOT NULL,
    text TEXT NOT NULL,
    expects_reply TEXT NOT NULL,
    claimed_by TEXT,
    open_q INTEGER NOT NULL DEFAULT 0
  ) STRICT;
  CREATE UNIQUE INDEX messages_room_seq ON messages(room, seq);
  -- open (unanswered) questions: marked answered on write, so the inbox never scans history
  CREATE INDEX messages_open_by_room ON messages(room, seq) WHERE open_q = 1;
  CREATE INDEX messages_open_by_ts ON messages(ts, room, seq) WHERE open_q = 1;

  CREATE TABLE rooms (
    room TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL,
    msg_count INTEGER NOT NULL,
    last_ts INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE room_status (
    room TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    closed_at INTEGER,
    closed_by TEXT
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE posters (
    room TEXT NOT NULL,
    name TEXT NOT NULL,
    last_ts INTEGER NOT NULL,
    PRIMARY KEY (room, name)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE codes (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    room TEXT NOT NULL,
    capabilities TEXT NOT NULL,
    created INTEGER NOT NULL,
    expires INTEGER,
    stored TEXT NOT NULL,
    hashed INTEGER NOT NULL,
    display TEXT NOT NULL,
    -- SHA-256 of the code for every row: lookups never compare a presented code with plaintext
    lookup TEXT NOT NULL
  ) STRICT;
  CREATE INDEX codes_lookup ON codes(lookup);
  CREATE INDEX codes_room_name ON codes(room, name);

  CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    ts INTEGER NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    room TEXT NOT NULL,
    detail TEXT NOT NULL
  ) STRICT;
  `,
  // 2: the durable per-agent positions behind MCP `wait`, attach and receipts: `delivered_seq`
  // is the newest seq a cursor-less read (MCP wait, stream resume) handed to the agent,
  // `read_seq` the newest it acknowledged.
  `
  CREATE TABLE agent_cursors (
    room TEXT NOT NULL,
    name TEXT NOT NULL,
    delivered_seq INTEGER NOT NULL DEFAULT 0,
    delivered_at INTEGER,
    read_seq INTEGER NOT NULL DEFAULT 0,
    read_at INTEGER,
    PRIMARY KEY (room, name)
  ) STRICT, WITHOUT ROWID;
  `,
  // 3: honest delivery and orderly turns (issue 10). Threads (`reply_to`, `thread` = the root's
  // seq), claim leases (`lease_until`; `lapsed_by`/`lapse` say whose lease expired or was
  // released), the loop guard's run of agent messages since the operator last spoke (on the room
  // aggregate, so it survives a restart), each poster's first seq (members as of a post), the
  // newest seq ever delivered to an agent on any path (`seen_seq`, beside the compare-and-set
  // `delivered_seq`), one receipt mark per advance of an agent's delivered or read high-water
  // mark, and idempotency keys.
  `
  ALTER TABLE messages ADD COLUMN reply_to INTEGER;
  ALTER TABLE messages ADD COLUMN thread INTEGER;
  ALTER TABLE messages ADD COLUMN lease_until INTEGER;
  ALTER TABLE messages ADD COLUMN lapsed_by TEXT;
  ALTER TABLE messages ADD COLUMN lapse TEXT;
  UPDATE messages SET thread = seq;
  CREATE INDEX messages_thread ON messages(room, thread, seq);
  CREATE INDEX messages_lease ON messages(lease_until) WHERE lease_until IS NOT NULL;
  CREATE INDEX messages_lease_holder ON messages(room, claimed_by) WHERE lease_until IS NOT NULL;
  ALTER TABLE rooms ADD COLUMN agent_run INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE posters ADD COLUMN first_seq INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE agent_cursors ADD COLUMN seen_seq INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE agent_cursors ADD COLUMN seen_at INTEGER;

  CREATE TABLE receipt_marks (
    room TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('delivered', 'read')),
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (room, name, kind, seq)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX receipt_marks_room_seq ON receipt_marks(room, seq);

  CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    body_hash TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);
  `,
  `
  -- One index of open questions, by addressee: each post answers the questions addressed to its
  -- poster (or to anyone) with two lookups, however many questions to others stay unanswered
  -- (with the (room, seq) index, 10,000 unanswered DMs made every post walk all of them), and
  -- each post writes one index page fewer. The operator's list of waiting questions reads it too.
  DROP INDEX messages_open_by_room;
  DROP INDEX messages_open_by_ts;
  CREATE INDEX messages_open_expecting ON messages(room, expects_reply, seq) WHERE open_q = 1;
  `,
];

/** Marks a database as argybargy's (PRAGMA application_id), so a foreign or 1.0 file is refused. */
export const APPLICATION_ID = 0x61726779; // "argy"
