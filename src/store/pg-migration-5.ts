/**
 * PostgreSQL migration step 5 (its own file, as step 4): `argy_post_plain`, the group commit of
 * plain batches. The text is released and must never change; a later change is a new step.
 *
 * A plain batch has no idempotency key, no room quota and no rate-limit slot to take (the
 * store checks that before it calls). Per room it does what step 4's fast path does, in about
 * half the statements (every statement of a plpgsql function costs its executor start-up even
 * when it touches nothing; those, not the rows, were most of argy_post's time, and all of it
 * is spent holding the room's counter row that every instance waits for):
 * - rooms and their posts come from one grouping query, not a DISTINCT loop plus one
 *   array_agg per room;
 * - the loop guard's reach, each post's run and the receipt-mark trim are one plpgsql loop;
 * - the counter row's update returns the NOTIFY;
 * - its plans are generic: a custom plan per call re-planned every statement of every batch.
 *
 * The step also drops `messages_open_by_room`, which nothing but step 3's argy_post read.
 *
 * A room the fast path cannot take (closed, or a loop guard this batch could reach) is left
 * untouched and its posts come back with a null seq: the store posts them again through step
 * 4's argy_post, which decides post by post, in a second transaction. Nothing of that room was
 * written or notified by the first, and nothing of another instance can sit between them
 * that it could not sit before (concurrent posts have no order until their commit).
 */
export function pgStep5(marksWindow: number): string {
  return `
  -- Only step 3's argy_post used it, and messages_open_expecting (room first) serves that walk
  -- too: every question post wrote one partial index more than it needed (SQLite dropped its own in step 4).
  DROP INDEX messages_open_by_room;

  CREATE FUNCTION argy_post_plain(p_room text[], p_from text[], p_to text[], p_text text[], p_escaped boolean[],
      p_expects text[], p_now bigint[], p_reply_to bigint[], p_thread bigint[], p_by_operator boolean[],
      p_loop_guard bigint[], p_retention bigint)
    RETURNS TABLE (o_i int, o_seq bigint, o_agent_run bigint, o_thread bigint)
    LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $fn$
  DECLARE
    r text; v_ks int[]; n int; j int; k int; v_last bigint; v_count bigint; v_ts bigint; v_run bigint; v_r bigint;
    v_slow boolean; v_runs bigint[]; v_mark_upto bigint; v_void text;
  BEGIN
    FOR r, v_ks IN SELECT x COLLATE "C", array_agg(i::int ORDER BY i) FROM unnest(p_room) WITH ORDINALITY AS u(x, i)
        GROUP BY x ORDER BY x COLLATE "C" LOOP
      n := cardinality(v_ks);
      INSERT INTO rooms AS t (room, last_seq, msg_count, last_ts) VALUES (r, 0, 0, 0)
        ON CONFLICT (room) DO UPDATE SET room = t.room
        RETURNING t.last_seq, t.msg_count, t.last_ts, t.agent_run INTO v_last, v_count, v_ts, v_run;
      -- A statement of its own, after the row lock: the upsert's snapshot predates its wait for
      -- the lock, so it could miss a close committed meanwhile.
      v_slow := EXISTS (SELECT 1 FROM room_status s WHERE s.room = r AND s.status = 'closed');
      v_runs := '{}'; v_mark_upto := NULL; v_r := v_run;
      FOR j IN 1 .. n LOOP
        k := v_ks[j];
        IF p_loop_guard[k] > 0 AND v_run + n >= p_loop_guard[k] THEN v_slow := true; END IF;
        v_r := CASE WHEN p_by_operator[k] THEN 0 ELSE v_r + 1 END;
        v_runs := v_runs || v_r;
        IF p_retention > 0 AND v_count + j > p_retention AND (v_last + j) % 64 = 0 THEN v_mark_upto := v_last + j - p_retention; END IF;
      END LOOP;
      IF v_slow THEN
        RETURN QUERY SELECT u.i - 1, NULL::bigint, NULL::bigint, NULL::bigint FROM unnest(v_ks) AS u(i);
        CONTINUE;
      END IF;
      INSERT INTO messages (room, seq, ts, from_name, to_name, text, escaped, expects_reply, open_q, reply_to, thread)
        SELECT r, v_last + u.o, p_now[u.i], p_from[u.i], p_to[u.i], p_text[u.i], p_escaped[u.i], p_expects[u.i], p_expects[u.i] <> 'none',
          nullif(p_reply_to[u.i], 0), coalesce(nullif(p_thread[u.i], 0), v_last + u.o)
        FROM unnest(v_ks) WITH ORDINALITY AS u(i, o) ORDER BY u.o;
      -- Step 4's answer rules: a question is answered by any later post of the addressed party
      -- (for anyone: of anyone but the asker); a holder's reply completes its lease.
      UPDATE messages m SET open_q = false WHERE m.room = r AND m.open_q
        AND m.expects_reply = ANY (ARRAY(SELECT p_from[u.i] FROM unnest(v_ks) AS u(i)) || 'anyone'::text) AND EXISTS (
          SELECT 1 FROM unnest(v_ks) WITH ORDINALITY AS u(i, o) WHERE v_last + u.o > m.seq
            AND (m.expects_reply = p_from[u.i] OR (m.expects_reply = 'anyone' AND m.from_name <> p_from[u.i])));
      UPDATE messages m SET lease_until = NULL, open_q = false WHERE m.room = r AND m.lease_until IS NOT NULL
        AND m.claimed_by = ANY (ARRAY(SELECT p_from[u.i] FROM unnest(v_ks) AS u(i))) AND EXISTS (
          SELECT 1 FROM unnest(v_ks) AS u(i) WHERE m.claimed_by = p_from[u.i] AND (m.seq = p_reply_to[u.i] OR m.from_name = p_to[u.i]));
      INSERT INTO posters AS pp (room, name, last_ts, first_seq)
        SELECT DISTINCT ON (p_from[u.i]) r, p_from[u.i], p_now[u.i], min(v_last + u.o) OVER (PARTITION BY p_from[u.i])
        FROM unnest(v_ks) WITH ORDINALITY AS u(i, o) ORDER BY p_from[u.i], u.o DESC
        ON CONFLICT (room, name) DO UPDATE SET last_ts = excluded.last_ts;
      RETURN QUERY SELECT (u.i - 1)::int, v_last + u.o, v_runs[u.o], coalesce(nullif(p_thread[u.i], 0), v_last + u.o)
        FROM unnest(v_ks) WITH ORDINALITY AS u(i, o);
      v_last := v_last + n; v_count := v_count + n; v_ts := p_now[v_ks[n]];
      IF p_retention > 0 AND v_count > p_retention THEN
        v_count := argy_prune(r, v_last - p_retention, n, v_count, p_retention);
      END IF;
      IF v_mark_upto IS NOT NULL THEN
        DELETE FROM receipt_marks rm WHERE rm.room = r AND rm.seq <= v_mark_upto AND rm.seq > v_mark_upto - ${marksWindow};
      END IF;
      UPDATE rooms t SET last_seq = v_last, msg_count = v_count, last_ts = v_ts, agent_run = v_r WHERE t.room = r
        RETURNING pg_notify(argy_channel(), r)::text INTO v_void;
    END LOOP;
  END
  $fn$;
  `;
}
