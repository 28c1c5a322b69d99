/**
 * PostgreSQL migration step 4 (its own file: argy_post is long). The text is released and must
 * never change; a later change to argy_post is a new step.
 * - `messages_open_expecting` and the answer updates that use it: a post answers only questions
 *   addressed to its poster or to anyone, so only those are walked (10,000 unanswered DMs to
 *   one agent made every other post of the room walk all of them: 8.8 ms per post).
 * - the rate limit inside argy_post (`p_rate_key`, '' = none; result `rate_limited` with
 *   `o_retry` ms), so a rate-limited post costs one round trip instead of two. A new overload:
 *   step 3's function stays for instances of the previous build during a rolling upgrade.
 */
export function pgStep4(lockRoomQuota: number, marksWindow: number): string {
  return `
  CREATE INDEX messages_open_expecting ON messages(room, expects_reply, seq) WHERE open_q;

  -- Step 3's argy_post (18 arguments) stays beside this overload (21): instances of the previous
  -- build that are still running keep posting during a rolling upgrade.
  -- 0 stands for "none" in p_reply_to and p_thread (seqs start at 1), '' in p_key and p_rate_key.
  CREATE FUNCTION argy_post(p_room text[], p_from text[], p_to text[], p_text text[], p_escaped boolean[],
      p_expects text[], p_refuse boolean[], p_now bigint[], p_max_rooms bigint[], p_retention bigint,
      p_reply_to bigint[], p_thread bigint[], p_by_operator boolean[], p_loop_guard bigint[],
      p_key_scope text[], p_key text[], p_key_hash text[], p_key_since bigint[],
      p_rate_key text[], p_rate_max bigint[], p_rate_window bigint[])
    RETURNS TABLE (o_i int, o_seq bigint, o_reason text, o_closed_at bigint, o_closed_by text, o_agent_run bigint, o_thread bigint, o_retry bigint)
    LANGUAGE plpgsql AS $fn$
  DECLARE
    r text; k int; n bigint; v_last bigint; v_count bigint; v_ts bigint; v_run bigint; v_any boolean;
    v_status text; v_closed_at bigint; v_closed_by text; v_thread bigint; v_ks int[]; v_runs bigint[]; j int; v_mark_upto bigint;
    v_limited int[]; v_ms bigint; v_from text[]; v_rated boolean;
  BEGIN
    v_rated := EXISTS (SELECT 1 FROM unnest(p_rate_key) x WHERE x <> '');
    IF EXISTS (SELECT 1 FROM unnest(p_max_rooms) q WHERE q > 0) THEN
      PERFORM pg_advisory_xact_lock(${lockRoomQuota});
    END IF;
    FOR r IN SELECT DISTINCT x COLLATE "C" FROM unnest(p_room) x ORDER BY 1 LOOP
      INSERT INTO rooms AS t (room, last_seq, msg_count, last_ts) VALUES (r, 0, 0, 0)
        ON CONFLICT (room) DO UPDATE SET room = t.room
        RETURNING t.last_seq, t.msg_count, t.last_ts, t.agent_run INTO v_last, v_count, v_ts, v_run;
      SELECT s.status, s.closed_at, s.closed_by INTO v_status, v_closed_at, v_closed_by FROM room_status s WHERE s.room = r;
      v_any := false;
      -- The rate limit in the post's own transaction (one round trip): after the closed check, so
      -- a refused post spends no slot, and before every other rule, as a separate take was (a
      -- post the quota, the loop guard or a key then refuses has spent its slot).
      v_limited := '{}';
      FOR k IN 1 .. CASE WHEN v_rated THEN cardinality(p_room) ELSE 0 END LOOP
        CONTINUE WHEN p_room[k] <> r OR p_rate_key[k] = '' OR (p_refuse[k] AND v_status IS NOT DISTINCT FROM 'closed');
        v_ms := argy_rate_take(p_rate_key[k], p_now[k], p_rate_max[k]::int, p_rate_window[k]);
        IF v_ms > 0 THEN
          v_limited := v_limited || k;
          o_i := k - 1; o_seq := NULL; o_reason := 'rate_limited'; o_closed_at := NULL; o_closed_by := NULL;
          o_agent_run := NULL; o_thread := NULL; o_retry := v_ms;
          RETURN NEXT;
        END IF;
      END LOOP;
      SELECT array_agg(g.i ORDER BY g.i) INTO v_ks FROM generate_subscripts(p_room, 1) AS g(i)
        WHERE p_room[g.i] = r AND NOT (p_refuse[g.i] AND v_status IS NOT DISTINCT FROM 'closed') AND NOT g.i = ANY (v_limited);
      n := coalesce(cardinality(v_ks), 0);
      -- The fast path needs no decision that depends on an earlier post of the batch: no key, no
      -- new room under a quota, and a loop guard that this batch cannot reach.
      IF n > 0 AND NOT EXISTS (SELECT 1 FROM unnest(v_ks) AS q(i) WHERE p_key[q.i] <> ''
            OR (v_count = 0 AND p_max_rooms[q.i] > 0) OR (p_loop_guard[q.i] > 0 AND v_run + n >= p_loop_guard[q.i])) THEN
        RETURN QUERY SELECT g.i - 1, NULL::bigint, 'room_closed'::text, v_closed_at, v_closed_by, NULL::bigint, NULL::bigint, NULL::bigint
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
        -- Only questions to a poster of the batch or to anyone can be answered: the index on
        -- (room, expects_reply, seq) walks just those, not every open question of the room.
        v_from := ARRAY(SELECT DISTINCT p_from[u.i] FROM unnest(v_ks) AS u(i));
        UPDATE messages m SET open_q = false WHERE m.room = r AND m.open_q AND m.expects_reply = ANY (v_from || 'anyone'::text) AND EXISTS (
          SELECT 1 FROM unnest(v_ks) WITH ORDINALITY AS u(i, o) WHERE v_last + u.o > m.seq
            AND (m.expects_reply = p_from[u.i] OR (m.expects_reply = 'anyone' AND m.from_name <> p_from[u.i])));
        UPDATE messages m SET lease_until = NULL, open_q = false WHERE m.room = r AND m.lease_until IS NOT NULL AND m.claimed_by = ANY (v_from) AND EXISTS (
          SELECT 1 FROM unnest(v_ks) AS u(i) WHERE m.claimed_by = p_from[u.i] AND (m.seq = p_reply_to[u.i] OR m.from_name = p_to[u.i]));
        INSERT INTO posters AS pp (room, name, last_ts, first_seq)
          SELECT DISTINCT ON (p_from[u.i]) r, p_from[u.i], p_now[u.i], min(v_last + u.o) OVER (PARTITION BY p_from[u.i])
          FROM unnest(v_ks) WITH ORDINALITY AS u(i, o) ORDER BY p_from[u.i], u.o DESC
          ON CONFLICT (room, name) DO UPDATE SET last_ts = excluded.last_ts;
        RETURN QUERY SELECT (u.i - 1)::int, v_last + u.o, NULL::text, NULL::bigint, NULL::text, v_runs[u.o],
            coalesce(nullif(p_thread[u.i], 0), v_last + u.o), NULL::bigint FROM unnest(v_ks) WITH ORDINALITY AS u(i, o);
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
          CONTINUE WHEN p_room[k] <> r OR k = ANY (v_limited);
          o_i := k - 1; o_seq := NULL; o_reason := NULL; o_closed_at := NULL; o_closed_by := NULL; o_agent_run := NULL; o_thread := NULL;
          o_retry := NULL;
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
          UPDATE messages m SET open_q = false WHERE m.room = r AND m.open_q AND m.expects_reply IN (p_from[k], 'anyone') AND m.seq < v_last
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
