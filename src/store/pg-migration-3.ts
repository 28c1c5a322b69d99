/**
 * PostgreSQL migration step 3 (its own file, as steps 4 and 5): honest delivery and orderly turns
 * (issue 10), as SQLite's step 3: threads, claim leases, the loop guard's run, each poster's
 * first seq, the newest seq ever delivered (`seen_seq`), receipt marks and idempotency keys;
 * argy_post learns their rules (post by post). The text is released and must never change.
 */
export function pgStep3(lockRoomQuota: number, marksWindow: number): string {
  return `
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
      PERFORM pg_advisory_xact_lock(${lockRoomQuota});
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
          DELETE FROM receipt_marks rm WHERE rm.room = r AND rm.seq <= v_mark_upto AND rm.seq > v_mark_upto - ${marksWindow};
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
              DELETE FROM receipt_marks rm WHERE rm.room = r AND rm.seq <= v_last - p_retention AND rm.seq > v_last - p_retention - ${marksWindow};
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
  `;
}
