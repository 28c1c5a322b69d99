import type { SQL } from "bun";
import { UnusableDatabaseError } from "./db.ts";
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
  // 3: honest delivery and orderly turns (issue 10), as SQLite's step 3: threads, claim leases,
  // the loop guard's run, each poster's first seq, the newest seq ever delivered (`seen_seq`),
  // receipt marks and idempotency keys; argy_post learns their rules (post by post).
  `
  ALTER TABLE messages ADD COLUMN reply_to bigint, ADD COLUMN thread bigint, ADD COLUMN lease_until bigint,
    ADD COLUMN lapsed_by text, ADD COLUMN lapse text;
  UPDATE messages SET thread = seq;
  CREATE INDEX messages_thread ON messages(room, thread, seq);
  CREATE INDEX messages_lease ON messages(lease_until) WHERE lease_until IS NOT NULL;
  CREATE INDEX messages_lease_holder ON messages(room, claimed_by) WHERE lease_until IS NOT NULL;
  ALTER TABLE rooms ADD COLUMN agent_run bigint NOT NULL DEFAULT 0;
  ALTER TABLE posters ADD COLUMN first_seq bigint NOT NULL DEFAULT 0;
  ALTER TABLE agent_cursors ADD COLUMN seen_seq bigint NOT NULL DEFAULT 0, ADD COLUMN seen_at bigint;
  CREATE TABLE receipt_marks (
    room text NOT NULL,
    name text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('delivered', 'read')),
    seq bigint NOT NULL,
    at bigint NOT NULL,
    PRIMARY KEY (room, name, kind, seq)
  );
  CREATE INDEX receipt_marks_room_seq ON receipt_marks(room, seq);
  CREATE TABLE idempotency_keys (
    scope text NOT NULL,
    key text NOT NULL,
    body_hash text NOT NULL,
    message text NOT NULL,
    created_at bigint NOT NULL,
    PRIMARY KEY (scope, key)
  );
  CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);

  -- Retention's delete, bounded from below: the rows a batch of n posts pushed past the floor.
  -- An unbounded range would walk every dead index entry of the room's pruned history until
  -- vacuum reaches it (one post then cost 3x). When rows are left below the floor all the same
  -- (the retention setting was lowered), the count says so and one unbounded delete follows.
  -- Returns the room's message count afterwards.
  CREATE FUNCTION argy_prune(p_room text, p_upto bigint, p_n bigint, p_count bigint, p_retention bigint) RETURNS bigint
    LANGUAGE plpgsql AS $fn$
  DECLARE d bigint;
  BEGIN
    DELETE FROM messages m WHERE m.room = p_room AND m.seq <= p_upto AND m.seq > p_upto - p_n;
    GET DIAGNOSTICS d = ROW_COUNT;
    p_count := p_count - d;
    IF p_count > p_retention THEN
      DELETE FROM messages m WHERE m.room = p_room AND m.seq <= p_upto;
      GET DIAGNOSTICS d = ROW_COUNT;
      p_count := p_count - d;
    END IF;
    RETURN p_count;
  END
  $fn$;

  DROP FUNCTION argy_post(text[], text[], text[], text[], boolean[], text[], boolean[], bigint[], bigint[], bigint);
  -- 0 stands for "none" in p_reply_to and p_thread (seqs start at 1), '' in p_key.
  CREATE FUNCTION argy_post(p_room text[], p_from text[], p_to text[], p_text text[], p_escaped boolean[],
      p_expects text[], p_refuse boolean[], p_now bigint[], p_max_rooms bigint[], p_retention bigint,
      p_reply_to bigint[], p_thread bigint[], p_by_operator boolean[], p_loop_guard bigint[],
      p_key_scope text[], p_key text[], p_key_hash text[], p_key_since bigint[])
    RETURNS TABLE (o_i int, o_seq bigint, o_reason text, o_closed_at bigint, o_closed_by text, o_agent_run bigint, o_thread bigint)
    LANGUAGE plpgsql AS $fn$
  DECLARE
    r text; k int; n bigint; v_last bigint; v_count bigint; v_ts bigint; v_run bigint; v_any boolean;
    v_status text; v_closed_at bigint; v_closed_by text; v_thread bigint; v_ks int[]; v_runs bigint[]; j int; v_mark_upto bigint;
  BEGIN
    IF EXISTS (SELECT 1 FROM unnest(p_max_rooms) q WHERE q > 0) THEN
      PERFORM pg_advisory_xact_lock(${LOCK_ROOM_QUOTA});
    END IF;
    FOR r IN SELECT DISTINCT x COLLATE "C" FROM unnest(p_room) x ORDER BY 1 LOOP
      INSERT INTO rooms AS t (room, last_seq, msg_count, last_ts) VALUES (r, 0, 0, 0)
        ON CONFLICT (room) DO UPDATE SET room = t.room
        RETURNING t.last_seq, t.msg_count, t.last_ts, t.agent_run INTO v_last, v_count, v_ts, v_run;
      SELECT s.status, s.closed_at, s.closed_by INTO v_status, v_closed_at, v_closed_by FROM room_status s WHERE s.room = r;
      v_any := false;
      SELECT array_agg(g.i ORDER BY g.i) INTO v_ks FROM generate_subscripts(p_room, 1) AS g(i)
        WHERE p_room[g.i] = r AND NOT (p_refuse[g.i] AND v_status IS NOT DISTINCT FROM 'closed');
      n := coalesce(cardinality(v_ks), 0);
      -- The fast path needs no decision that depends on an earlier post of the batch: no key, no
      -- new room under a quota, and a loop guard that this batch cannot reach.
      IF n > 0 AND NOT EXISTS (SELECT 1 FROM unnest(v_ks) AS q(i) WHERE p_key[q.i] <> ''
            OR (v_count = 0 AND p_max_rooms[q.i] > 0) OR (p_loop_guard[q.i] > 0 AND v_run + n >= p_loop_guard[q.i])) THEN
        RETURN QUERY SELECT g.i - 1, NULL::bigint, 'room_closed'::text, v_closed_at, v_closed_by, NULL::bigint, NULL::bigint
          FROM generate_subscripts(p_room, 1) AS g(i) WHERE p_room[g.i] = r AND p_refuse[g.i] AND v_status IS NOT DISTINCT FROM 'closed';
        -- Per post, without a statement: the loop guard's run and when receipt marks are trimmed.
        v_runs := '{}'; v_mark_upto := NULL;
        FOR j IN 1 .. n LOOP
          k := v_ks[j];
          v_run := CASE WHEN p_by_operator[k] THEN 0 ELSE v_run + 1 END;
          v_runs := v_runs || v_run;
          IF p_retention > 0 AND v_count + j > p_retention AND (v_last + j) % 64 = 0 THEN v_mark_upto := v_last + j - p_retention; END IF;
        END LOOP;
        INSERT INTO messages (room, seq, ts, from_name, to_name, text, escaped, expects_reply, open_q, reply_to, thread)
          SELECT r, v_last + u.o, p_now[u.i], p_from[u.i], p_to[u.i], p_text[u.i], p_escaped[u.i], p_expects[u.i], p_expects[u.i] <> 'none',
            nullif(p_reply_to[u.i], 0), coalesce(nullif(p_thread[u.i], 0), v_last + u.o)
          FROM unnest(v_ks) WITH ORDINALITY AS u(i, o) ORDER BY u.o;
        -- A question is answered by any later post of the addressed party (for anyone: of anyone but
        -- the asker), the batch's own questions included; a holder's reply completes its lease.
        UPDATE messages m SET open_q = false WHERE m.room = r AND m.open_q AND EXISTS (
          SELECT 1 FROM unnest(v_ks) WITH ORDINALITY AS u(i, o) WHERE v_last + u.o > m.seq
            AND (m.expects_reply = p_from[u.i] OR (m.expects_reply = 'anyone' AND m.from_name <> p_from[u.i])));
        UPDATE messages m SET lease_until = NULL, open_q = false WHERE m.room = r AND m.lease_until IS NOT NULL AND EXISTS (
          SELECT 1 FROM unnest(v_ks) AS u(i) WHERE m.claimed_by = p_from[u.i] AND (m.seq = p_reply_to[u.i] OR m.from_name = p_to[u.i]));
        INSERT INTO posters AS pp (room, name, last_ts, first_seq)
          SELECT DISTINCT ON (p_from[u.i]) r, p_from[u.i], p_now[u.i], min(v_last + u.o) OVER (PARTITION BY p_from[u.i])
          FROM unnest(v_ks) WITH ORDINALITY AS u(i, o) ORDER BY p_from[u.i], u.o DESC
          ON CONFLICT (room, name) DO UPDATE SET last_ts = excluded.last_ts;
        RETURN QUERY SELECT (u.i - 1)::int, v_last + u.o, NULL::text, NULL::bigint, NULL::text, v_runs[u.o],
            coalesce(nullif(p_thread[u.i], 0), v_last + u.o) FROM unnest(v_ks) WITH ORDINALITY AS u(i, o);
        v_last := v_last + n; v_count := v_count + n; v_ts := p_now[v_ks[n]];
        IF p_retention > 0 AND v_count > p_retention THEN
          v_count := argy_prune(r, v_last - p_retention, n, v_count, p_retention);
        END IF;
        IF v_mark_upto IS NOT NULL THEN
          DELETE FROM receipt_marks rm WHERE rm.room = r AND rm.seq <= v_mark_upto AND rm.seq > v_mark_upto - ${MARKS_WINDOW};
        END IF;
        v_any := true;
      ELSE
        FOR k IN 1 .. cardinality(p_room) LOOP
          CONTINUE WHEN p_room[k] <> r;
          o_i := k - 1; o_seq := NULL; o_reason := NULL; o_closed_at := NULL; o_closed_by := NULL; o_agent_run := NULL; o_thread := NULL;
          IF p_refuse[k] AND v_status = 'closed' THEN
            o_reason := 'room_closed'; o_closed_at := v_closed_at; o_closed_by := v_closed_by;
            RETURN NEXT; CONTINUE;
          END IF;
          IF v_count = 0 AND p_max_rooms[k] > 0 AND (SELECT count(*) FROM rooms WHERE msg_count > 0) >= p_max_rooms[k] THEN
            o_reason := 'room_quota'; RETURN NEXT; CONTINUE;
          END IF;
          IF NOT p_by_operator[k] AND p_loop_guard[k] > 0 AND v_run >= p_loop_guard[k] THEN
            o_reason := 'room_paused'; o_agent_run := v_run; RETURN NEXT; CONTINUE;
          END IF;
          -- Another instance stored this key meanwhile: the caller looks the first answer up.
          IF p_key[k] <> '' AND EXISTS (SELECT 1 FROM idempotency_keys i WHERE i.scope = p_key_scope[k] AND i.key = p_key[k]
              AND i.created_at >= p_key_since[k]) THEN
            o_reason := 'duplicate_key'; RETURN NEXT; CONTINUE;
          END IF;
          v_last := v_last + 1; v_count := v_count + 1; v_ts := p_now[k];
          v_thread := coalesce(nullif(p_thread[k], 0), v_last);
          INSERT INTO messages (room, seq, ts, from_name, to_name, text, escaped, expects_reply, open_q, reply_to, thread)
            VALUES (r, v_last, v_ts, p_from[k], p_to[k], p_text[k], p_escaped[k], p_expects[k], p_expects[k] <> 'none',
              nullif(p_reply_to[k], 0), v_thread);
          -- Any later post by the addressed party answers a named question; for anyone, a post by anyone but the asker.
          UPDATE messages m SET open_q = false WHERE m.room = r AND m.open_q AND m.seq < v_last
            AND (m.expects_reply = p_from[k] OR (m.expects_reply = 'anyone' AND m.from_name <> p_from[k]));
          -- The holder's reply completes its lease: a reply to the question or a DM to the asker.
          UPDATE messages m SET lease_until = NULL, open_q = false WHERE m.room = r AND m.claimed_by = p_from[k]
            AND m.lease_until IS NOT NULL AND (m.seq = p_reply_to[k] OR m.from_name = p_to[k]);
          IF p_retention > 0 AND v_count > p_retention THEN
            v_count := argy_prune(r, v_last - p_retention, 1, v_count, p_retention);
            -- Marks at or below the pruned floor say nothing any more; trimmed every 64 posts, as SQLite does.
            IF v_last % 64 = 0 THEN
              DELETE FROM receipt_marks rm WHERE rm.room = r AND rm.seq <= v_last - p_retention AND rm.seq > v_last - p_retention - ${MARKS_WINDOW};
            END IF;
          END IF;
          v_run := CASE WHEN p_by_operator[k] THEN 0 ELSE v_run + 1 END;
          INSERT INTO posters AS pp (room, name, last_ts, first_seq) VALUES (r, p_from[k], v_ts, v_last)
            ON CONFLICT (room, name) DO UPDATE SET last_ts = excluded.last_ts;
          IF p_key[k] <> '' THEN
            INSERT INTO idempotency_keys (scope, key, body_hash, message, created_at) VALUES (p_key_scope[k], p_key[k], p_key_hash[k],
              json_build_object('room', r, 'seq', v_last, 'tsMs', v_ts, 'from', p_from[k], 'to', p_to[k],
                'text', CASE WHEN p_escaped[k] THEN p_text[k]::json ELSE to_json(p_text[k]) END,
                'expectsReply', p_expects[k], 'claimedBy', NULL, 'replyTo', nullif(p_reply_to[k], 0), 'thread', v_thread,
                'leaseUntilMs', NULL, 'lapsedBy', NULL, 'lapse', NULL)::text, v_ts)
              ON CONFLICT (scope, key) DO UPDATE SET body_hash = excluded.body_hash, message = excluded.message, created_at = excluded.created_at;
          END IF;
          o_seq := v_last; o_agent_run := v_run; o_thread := v_thread; RETURN NEXT;
          v_any := true;
        END LOOP;
      END IF;
      IF v_any THEN
        UPDATE rooms t SET last_seq = v_last, msg_count = v_count, last_ts = v_ts, agent_run = v_run WHERE t.room = r;
        PERFORM pg_notify(argy_channel(), r);
      END IF;
    END LOOP;
  END
  $fn$;
  `,
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
