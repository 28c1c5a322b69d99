import type { SQL } from "bun";
import { UnusableDatabaseError } from "./db.ts";
import { pgStep3 } from "./pg-migration-3.ts";
import { pgStep4 } from "./pg-migration-4.ts";
import { pgStep5 } from "./pg-migration-5.ts";

/** What the marker row of an argybargy PostgreSQL schema says; any other value is refused. */
export const PG_APPLICATION_ID = "argybargy";

/** Advisory lock keys (pg_advisory_xact_lock); arbitrary, fixed, and only ever taken inside a transaction. */
export const LOCK_MIGRATE = 0x61726779_01;
export const LOCK_CODES = 0x61726779_02;
export const LOCK_ROOM_QUOTA = 0x61726779_03;
/**
 * How far below the floor a receipt-mark trim (every 64 posts) reaches: the previous trim took
 * the rest. Bounded for the reason argy_prune is; marks a lowered retention leaves further down
 * say nothing and cost only their rows.
 */
const MARKS_WINDOW = 256;


/**
 * Append-only schema steps for PostgreSQL; step i (0-based) moves the marker row's version
 * from i to i + 1. Never edit a released step: add a new one (mirroring the SQLite step).
 */
export const PG_MIGRATIONS: readonly string[] = [
  // 1: the SQLite schema's step 1 and 2 in one (the PostgreSQL store starts at 1.1's schema).
  `
  CREATE TABLE messages (
    id bigserial PRIMARY KEY,
    room text NOT NULL,
    seq bigint NOT NULL,
    ts bigint NOT NULL,
    from_name text NOT NULL,
    to_name text NOT NULL,
    -- PostgreSQL text cannot hold U+0000: such a text is stored JSON-encoded with escaped = true.
    text text NOT NULL,
    escaped boolean NOT NULL DEFAULT false,
    expects_reply text NOT NULL,
    claimed_by text,
    open_q boolean NOT NULL DEFAULT false
  );
  CREATE UNIQUE INDEX messages_room_seq ON messages(room, seq);
  CREATE INDEX messages_open_by_room ON messages(room, seq) WHERE open_q;
  CREATE INDEX messages_open_by_ts ON messages(ts, room, seq) WHERE open_q;

  -- The per-room counter row: every write to a room locks it first, so writes to one room
  -- serialise and commit order equals seq order (SPEC §7.2; a global sequence would not).
  CREATE TABLE rooms (
    room text PRIMARY KEY,
    last_seq bigint NOT NULL,
    msg_count bigint NOT NULL,
    last_ts bigint NOT NULL
  );
  CREATE TABLE room_status (
    room text PRIMARY KEY,
    status text NOT NULL CHECK (status IN ('open', 'closed')),
    closed_at bigint,
    closed_by text
  );
  CREATE TABLE posters (
    room text NOT NULL,
    name text NOT NULL,
    last_ts bigint NOT NULL,
    PRIMARY KEY (room, name)
  );
  CREATE TABLE codes (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    room text NOT NULL,
    capabilities text NOT NULL,
    created bigint NOT NULL,
    expires bigint,
    stored text NOT NULL,
    hashed boolean NOT NULL,
    display text NOT NULL,
    lookup text NOT NULL
  );
  CREATE INDEX codes_lookup ON codes(lookup);
  CREATE INDEX codes_room_name ON codes(room, name);
  CREATE TABLE audit (
    id bigserial PRIMARY KEY,
    ts bigint NOT NULL,
    action text NOT NULL,
    actor text NOT NULL,
    room text NOT NULL,
    detail text NOT NULL
  );
  CREATE TABLE agent_cursors (
    room text NOT NULL,
    name text NOT NULL,
    delivered_seq bigint NOT NULL DEFAULT 0,
    delivered_at bigint,
    read_seq bigint NOT NULL DEFAULT 0,
    read_at bigint,
    PRIMARY KEY (room, name)
  );

  -- The channel every instance of this schema LISTENs on (payload: a room name). Per schema,
  -- so relays sharing one database in different schemas never wake each other.
  CREATE FUNCTION argy_channel() RETURNS text LANGUAGE sql STABLE AS $ch$
    SELECT 'argybargy_' || left(md5(current_schema()), 16)
  $ch$;

  -- One batch of posts (group commit) in one statement, so one round trip and one transaction:
  -- per room (in name order, so two instances never lock rooms in opposite orders) and per post
  -- in order, exactly SQLite's rules: closed check, room quota, seq from the counter row,
  -- answered-marks, posters; then retention and the aggregate once, and one NOTIFY per room.
  CREATE FUNCTION argy_post(p_room text[], p_from text[], p_to text[], p_text text[], p_escaped boolean[],
      p_expects text[], p_refuse boolean[], p_now bigint[], p_max_rooms bigint[], p_retention bigint)
    RETURNS TABLE (o_i int, o_seq bigint, o_reason text, o_closed_at bigint, o_closed_by text)
    LANGUAGE plpgsql AS $fn$
  DECLARE
    r text; k int; n bigint; v_last bigint; v_count bigint; v_ts bigint; v_any boolean; v_ks int[];
    v_status text; v_closed_at bigint; v_closed_by text;
  BEGIN
    IF EXISTS (SELECT 1 FROM unnest(p_max_rooms) q WHERE q > 0) THEN
      PERFORM pg_advisory_xact_lock(${LOCK_ROOM_QUOTA});
    END IF;
    FOR r IN SELECT DISTINCT x COLLATE "C" FROM unnest(p_room) x ORDER BY 1 LOOP
      INSERT INTO rooms AS t (room, last_seq, msg_count, last_ts) VALUES (r, 0, 0, 0)
        ON CONFLICT (room) DO UPDATE SET room = t.room
        RETURNING t.last_seq, t.msg_count, t.last_ts INTO v_last, v_count, v_ts;
      SELECT s.status, s.closed_at, s.closed_by INTO v_status, v_closed_at, v_closed_by FROM room_status s WHERE s.room = r;
      v_any := false;
      SELECT array_agg(g.i ORDER BY g.i) INTO v_ks FROM generate_subscripts(p_room, 1) AS g(i)
        WHERE p_room[g.i] = r AND NOT (p_refuse[g.i] AND v_status IS NOT DISTINCT FROM 'closed');
      RETURN QUERY SELECT g.i - 1, NULL::bigint, 'room_closed'::text, v_closed_at, v_closed_by FROM generate_subscripts(p_room, 1) AS g(i)
        WHERE p_room[g.i] = r AND p_refuse[g.i] AND v_status IS NOT DISTINCT FROM 'closed';
      n := coalesce(cardinality(v_ks), 0);
      IF n > 0 AND v_count = 0 AND EXISTS (SELECT 1 FROM unnest(v_ks) AS q(i) WHERE p_max_rooms[q.i] > 0) THEN
        -- A new room under a quota: post by post, as each one decides whether the room exists.
        FOREACH k IN ARRAY v_ks LOOP
          o_i := k - 1; o_seq := NULL; o_reason := NULL; o_closed_at := NULL; o_closed_by := NULL;
          IF v_count = 0 AND p_max_rooms[k] > 0 AND (SELECT count(*) FROM rooms WHERE msg_count > 0) >= p_max_rooms[k] THEN
            o_reason := 'room_quota'; RETURN NEXT; CONTINUE;
          END IF;
          v_last := v_last + 1; v_count := v_count + 1; v_ts := p_now[k];
          INSERT INTO messages (room, seq, ts, from_name, to_name, text, escaped, expects_reply, open_q)
            VALUES (r, v_last, v_ts, p_from[k], p_to[k], p_text[k], p_escaped[k], p_expects[k], p_expects[k] <> 'none');
          UPDATE messages m SET open_q = false WHERE m.room = r AND m.open_q AND m.seq < v_last
            AND (m.expects_reply = p_from[k] OR (m.expects_reply = 'anyone' AND m.from_name <> p_from[k]));
          INSERT INTO posters AS pp (room, name, last_ts) VALUES (r, p_from[k], v_ts)
            ON CONFLICT (room, name) DO UPDATE SET last_ts = excluded.last_ts;
          o_seq := v_last; RETURN NEXT;
          v_any := true;
        END LOOP;
      ELSIF n > 0 THEN
        -- The usual case, set-based (a handful of statements for the whole batch): seqs follow
        -- the posts' order; a question is answered by any later post of the addressed party
        -- (for anyone: of anyone but the asker), the batch's own questions included.
        INSERT INTO messages (room, seq, ts, from_name, to_name, text, escaped, expects_reply, open_q)
          SELECT r, v_last + o, p_now[u.i], p_from[u.i], p_to[u.i], p_text[u.i], p_escaped[u.i], p_expects[u.i], p_expects[u.i] <> 'none'
          FROM unnest(v_ks) WITH ORDINALITY AS u(i, o) ORDER BY o;
        UPDATE messages m SET open_q = false WHERE m.room = r AND m.open_q AND EXISTS (
          SELECT 1 FROM unnest(v_ks) WITH ORDINALITY AS u(i, o) WHERE v_last + o > m.seq
            AND (m.expects_reply = p_from[u.i] OR (m.expects_reply = 'anyone' AND m.from_name <> p_from[u.i])));
        INSERT INTO posters AS pp (room, name, last_ts)
          SELECT DISTINCT ON (p_from[u.i]) r, p_from[u.i], p_now[u.i] FROM unnest(v_ks) WITH ORDINALITY AS u(i, o) ORDER BY p_from[u.i], o DESC
          ON CONFLICT (room, name) DO UPDATE SET last_ts = excluded.last_ts;
        RETURN QUERY SELECT (u.i - 1)::int, v_last + u.o, NULL::text, NULL::bigint, NULL::text FROM unnest(v_ks) WITH ORDINALITY AS u(i, o);
        v_last := v_last + n; v_count := v_count + n; v_ts := p_now[v_ks[n]];
        v_any := true;
      END IF;
      IF v_any THEN
        IF p_retention > 0 AND v_count > p_retention THEN
          DELETE FROM messages m WHERE m.room = r AND m.seq <= v_last - p_retention;
          GET DIAGNOSTICS n = ROW_COUNT;
          v_count := v_count - n;
        END IF;
        UPDATE rooms t SET last_seq = v_last, msg_count = v_count, last_ts = v_ts WHERE t.room = r;
        PERFORM pg_notify(argy_channel(), r);
      END IF;
    END LOOP;
  END
  $fn$;
  `,
  // 2: what several instances must agree on (SharedState): rate logs, presence and idle clocks,
  // the failed-auth windows and the admin token.
  `
  CREATE TABLE agent_rate (
    key text PRIMARY KEY,
    log bigint[] NOT NULL
  );
  CREATE TABLE agent_presence (
    room text NOT NULL,
    name text NOT NULL,
    seen_ms bigint NOT NULL,
    clock_ms bigint,
    PRIMARY KEY (room, name)
  );
  CREATE INDEX agent_presence_seen ON agent_presence(seen_ms);
  CREATE TABLE auth_failures (
    ip text PRIMARY KEY,
    window_start bigint NOT NULL,
    failures int NOT NULL,
    admin_failures int NOT NULL,
    audit_id bigint
  );
  CREATE TABLE settings (
    key text PRIMARY KEY,
    value text NOT NULL
  );

  -- The sliding log of one key under its row lock, so instances cannot both take the last slot.
  -- Returns 0 when the event was recorded, else the ms until the oldest entry leaves the window.
  CREATE FUNCTION argy_rate_take(p_key text, p_now bigint, p_max int, p_window bigint) RETURNS bigint
    LANGUAGE plpgsql AS $fn$
  DECLARE v_log bigint[];
  BEGIN
    INSERT INTO agent_rate AS t (key, log) VALUES (p_key, '{}') ON CONFLICT (key) DO UPDATE SET key = t.key
      RETURNING t.log INTO v_log;
    SELECT coalesce(array_agg(x ORDER BY x), '{}') INTO v_log FROM unnest(v_log) x WHERE x > p_now - p_window;
    IF cardinality(v_log) >= p_max THEN
      UPDATE agent_rate SET log = v_log WHERE key = p_key;
      RETURN greatest(1, v_log[1] + p_window - p_now);
    END IF;
    UPDATE agent_rate SET log = v_log || p_now WHERE key = p_key;
    RETURN 0;
  END
  $fn$;
  `,
  // 3: honest delivery and orderly turns (issue 10): threads, leases, the loop guard, receipts, idempotency keys.
  pgStep3(LOCK_ROOM_QUOTA, MARKS_WINDOW),
  // 4: answering walks only the questions a batch can answer; the rate limit inside argy_post.
  pgStep4(LOCK_ROOM_QUOTA, MARKS_WINDOW),
  // 5: plain batches (no key, quota or rate slot) through a leaner argy_post_plain.
  pgStep5(MARKS_WINDOW),
];

/**
 * Checks and migrates the schema `sql` points at (its search_path), in one transaction under an
 * advisory lock so instances starting together migrate once; `create` names a schema to create
 * first when missing (under the lock too: CREATE SCHEMA IF NOT EXISTS is not safe against itself,
 * and two instances started together on a new schema raced, one failing on pg_namespace's key).
 * Throws UnusableDatabaseError, leaving the database untouched, for a schema that holds someone
 * else's tables or a newer version.
 */
export async function migratePg(sql: SQL, where: string, create?: string): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${LOCK_MIGRATE}::bigint)`;
    if (create) await tx`CREATE SCHEMA IF NOT EXISTS ${tx(create)}`;
    const refuse = (why: string) =>
      new UnusableDatabaseError(`${where} ${why}; point ARGYBARGY_DATABASE_URL at an empty database (or schema) or at argybargy's own.`);
    const [marker] = await tx`SELECT to_regclass('argybargy_schema') IS NOT NULL AS present`;
    let version = 0;
    if (marker.present) {
      const rows = await tx`SELECT application_id, version FROM argybargy_schema`;
      if (rows.length !== 1 || rows[0].application_id !== PG_APPLICATION_ID) throw refuse("has an argybargy_schema table that is not argybargy's");
      version = Number(rows[0].version);
      if (version > PG_MIGRATIONS.length) throw refuse(`has schema version ${version}, newer than this argybargy understands (${PG_MIGRATIONS.length})`);
    } else {
      const [{ n }] = await tx`SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
        WHERE s.nspname = current_schema() AND c.relkind IN ('r', 'v', 'm', 'S', 'f', 'p')`;
      if (n > 0) throw refuse(`holds ${n} table(s) or sequence(s) that are not argybargy's`);
      await tx`CREATE TABLE argybargy_schema (application_id text NOT NULL, version int NOT NULL)`;
      await tx`INSERT INTO argybargy_schema VALUES (${PG_APPLICATION_ID}, 0)`;
    }
    for (let i = version; i < PG_MIGRATIONS.length; i++) {
      await tx.unsafe(PG_MIGRATIONS[i]!);
      await tx`UPDATE argybargy_schema SET version = ${i + 1}`;
    }
  });
}
