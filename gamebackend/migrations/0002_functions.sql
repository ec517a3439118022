-- Every write is ONE round trip: the API calls one of these functions, which checks the
-- idempotency key, applies the change (the CHECK constraints are the last line of defence) and
-- stores the response, all in the statement's own transaction. The bodies are written out in
-- full rather than calling helper functions: each nested call costs executor set-up, and these
-- functions are the hot path (about a third less database CPU per write, measured).
--
-- Error codes the API maps to answers:
--   GB409 the change would make a balance/quantity negative (409, message = error code)
--   GB422 the request names a player that does not exist (422); so does a foreign key
--         violation (23503) on wallets, inventory_items or lb_records
--   GB423 a concurrent request with the same idempotency key committed first; the API retries
--         the call, which then replays the stored response
-- Every function returns one row (o_outcome, o_response, o_proj): outcome is applied | replayed
-- | mismatch, response the JSON answer, proj what the Redis projections need (NULL on replay).
--
-- Lock order, to stay free of deadlocks: player wallets (ascending player id when two), then
-- pool shards (ascending shard), then inventory items, then the idempotency row.

-- Only on the refusal path: tell "no such player" from "not enough money".
CREATE FUNCTION gb_refuse_debit(p_player uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM players WHERE player_id = p_player;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown player %', p_player USING ERRCODE = 'GB422';
    END IF;
    RAISE EXCEPTION 'insufficient_funds' USING ERRCODE = 'GB409';
END $$;

-- A credit (p_amount > 0) or a debit (p_amount < 0) of one wallet.
CREATE FUNCTION gb_wallet_tx(p_scope text, p_key text, p_hash bytea, p_player uuid,
                             p_currency text, p_amount bigint, p_reason text,
                             OUT o_outcome text, OUT o_response jsonb, OUT o_proj jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    v_hash bytea; v_balance bigint; v_version bigint; v_txn uuid := gen_random_uuid();
BEGIN
    SELECT i.request_hash, i.response INTO v_hash, o_response
      FROM idempotency i WHERE i.scope = p_scope AND i.key = p_key;
    IF FOUND THEN
        o_outcome := CASE WHEN v_hash = p_hash THEN 'replayed' ELSE 'mismatch' END;
        RETURN;
    END IF;
    UPDATE wallets w SET balance = w.balance + p_amount, version = w.version + 1
     WHERE w.player_id = p_player AND w.currency = p_currency AND w.balance + p_amount >= 0
    RETURNING w.balance, w.version INTO v_balance, v_version;
    IF NOT FOUND THEN
        IF p_amount < 0 THEN
            PERFORM gb_refuse_debit(p_player);
        END IF;
        -- First credit of a currency the player has no row for (an unknown player fails the
        -- foreign key: 23503).
        INSERT INTO wallets AS w (player_id, currency, balance, version)
        VALUES (p_player, p_currency, p_amount, 1)
        ON CONFLICT (player_id, currency) DO UPDATE
           SET balance = w.balance + EXCLUDED.balance, version = w.version + 1
        RETURNING w.balance, w.version INTO v_balance, v_version;
    END IF;
    INSERT INTO ledger (txn_id, player_id, currency, amount, balance_after, kind, reason)
    VALUES (v_txn, p_player, p_currency, p_amount, v_balance,
            CASE WHEN p_amount > 0 THEN 'credit' ELSE 'debit' END, p_reason);
    o_response := jsonb_build_object('txn_id', v_txn, 'currency', p_currency, 'balance', v_balance);
    INSERT INTO idempotency (scope, key, request_hash, txn_id, response)
    VALUES (p_scope, p_key, p_hash, v_txn, o_response) ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN  -- a twin with this key committed while we held our locks: undo all
        RAISE EXCEPTION 'idempotency key raced' USING ERRCODE = 'GB423';
    END IF;
    o_outcome := 'applied';
    o_proj := jsonb_build_array(jsonb_build_array(p_player, p_currency, v_version, v_balance));
END $$;

-- Debit or credit one wallet inside a larger write (transfers, payouts): rarer paths.
CREATE FUNCTION gb_move(p_player uuid, p_currency text, p_amount bigint,
                        OUT o_balance bigint, OUT o_version bigint)
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE wallets w SET balance = w.balance + p_amount, version = w.version + 1
     WHERE w.player_id = p_player AND w.currency = p_currency AND w.balance + p_amount >= 0
    RETURNING w.balance, w.version INTO o_balance, o_version;
    IF FOUND THEN
        RETURN;
    END IF;
    IF p_amount < 0 THEN
        PERFORM gb_refuse_debit(p_player);
    END IF;
    INSERT INTO wallets AS w (player_id, currency, balance, version)
    VALUES (p_player, p_currency, p_amount, 1)
    ON CONFLICT (player_id, currency) DO UPDATE
       SET balance = w.balance + EXCLUDED.balance, version = w.version + 1
    RETURNING w.balance, w.version INTO o_balance, o_version;
END $$;

CREATE FUNCTION gb_transfer(p_scope text, p_key text, p_hash bytea, p_from uuid, p_to uuid,
                            p_currency text, p_amount bigint,
                            OUT o_outcome text, OUT o_response jsonb, OUT o_proj jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    v_hash bytea; v_from record; v_to record; v_txn uuid := gen_random_uuid();
BEGIN
    SELECT i.request_hash, i.response INTO v_hash, o_response
      FROM idempotency i WHERE i.scope = p_scope AND i.key = p_key;
    IF FOUND THEN
        o_outcome := CASE WHEN v_hash = p_hash THEN 'replayed' ELSE 'mismatch' END;
        RETURN;
    END IF;
    IF p_from < p_to THEN
        SELECT * INTO v_from FROM gb_move(p_from, p_currency, -p_amount);
        SELECT * INTO v_to FROM gb_move(p_to, p_currency, p_amount);
    ELSE
        SELECT * INTO v_to FROM gb_move(p_to, p_currency, p_amount);
        SELECT * INTO v_from FROM gb_move(p_from, p_currency, -p_amount);
    END IF;
    INSERT INTO ledger (txn_id, player_id, currency, amount, balance_after, kind, ref)
    VALUES (v_txn, p_from, p_currency, -p_amount, v_from.o_balance, 'transfer', p_to::text),
           (v_txn, p_to, p_currency, p_amount, v_to.o_balance, 'transfer', p_from::text);
    o_response := jsonb_build_object('txn_id', v_txn, 'currency', p_currency,
                                     'balance', v_from.o_balance, 'to_player', p_to,
                                     'amount', p_amount);
    INSERT INTO idempotency (scope, key, request_hash, txn_id, response)
    VALUES (p_scope, p_key, p_hash, v_txn, o_response) ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'idempotency key raced' USING ERRCODE = 'GB423';
    END IF;
    o_outcome := 'applied';
    o_proj := jsonb_build_array(
        jsonb_build_array(p_from, p_currency, v_from.o_version, v_from.o_balance),
        jsonb_build_array(p_to, p_currency, v_to.o_version, v_to.o_balance));
END $$;

-- The hot path: thousands of players feed one pool. Each contribution locks only its own
-- wallet row and ONE of the pool's shards (chosen by the caller at random).
CREATE FUNCTION gb_pool_contribute(p_scope text, p_key text, p_hash bytea, p_player uuid,
                                   p_pool text, p_currency text, p_amount bigint, p_shard int,
                                   OUT o_outcome text, OUT o_response jsonb, OUT o_proj jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    v_hash bytea; v_balance bigint; v_version bigint; v_txn uuid := gen_random_uuid();
BEGIN
    SELECT i.request_hash, i.response INTO v_hash, o_response
      FROM idempotency i WHERE i.scope = p_scope AND i.key = p_key;
    IF FOUND THEN
        o_outcome := CASE WHEN v_hash = p_hash THEN 'replayed' ELSE 'mismatch' END;
        RETURN;
    END IF;
    UPDATE wallets w SET balance = w.balance - p_amount, version = w.version + 1
     WHERE w.player_id = p_player AND w.currency = p_currency AND w.balance >= p_amount
    RETURNING w.balance, w.version INTO v_balance, v_version;
    IF NOT FOUND THEN
        PERFORM gb_refuse_debit(p_player);
    END IF;
    INSERT INTO ledger (txn_id, player_id, currency, amount, balance_after, kind, ref)
    VALUES (v_txn, p_player, p_currency, -p_amount, v_balance, 'pool_contribution', p_pool);
    UPDATE pool_shards s SET balance = s.balance + p_amount
     WHERE s.pool_id = p_pool AND s.currency = p_currency AND s.shard = p_shard;
    IF NOT FOUND THEN
        INSERT INTO pool_shards AS s (pool_id, currency, shard, balance)
        VALUES (p_pool, p_currency, p_shard, p_amount)
        ON CONFLICT (pool_id, currency, shard) DO UPDATE SET balance = s.balance + EXCLUDED.balance;
    END IF;
    o_response := jsonb_build_object('txn_id', v_txn, 'pool', p_pool, 'currency', p_currency,
                                     'amount', p_amount, 'balance', v_balance);
    INSERT INTO idempotency (scope, key, request_hash, txn_id, response)
    VALUES (p_scope, p_key, p_hash, v_txn, o_response) ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'idempotency key raced' USING ERRCODE = 'GB423';
    END IF;
    o_outcome := 'applied';
    o_proj := jsonb_build_array(jsonb_build_array(p_player, p_currency, v_version, v_balance));
END $$;

-- A payout locks every shard of the pool (ascending), so it sees an exact total and never
-- takes the pool below zero; it drains the fullest shards first.
CREATE FUNCTION gb_pool_payout(p_scope text, p_key text, p_hash bytea, p_player uuid,
                               p_pool text, p_currency text, p_amount bigint, p_reason text,
                               OUT o_outcome text, OUT o_response jsonb, OUT o_proj jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    v_hash bytea; v_to record; v_total bigint; v_left bigint := p_amount; v_take bigint;
    v_shard record; v_txn uuid := gen_random_uuid();
BEGIN
    SELECT i.request_hash, i.response INTO v_hash, o_response
      FROM idempotency i WHERE i.scope = p_scope AND i.key = p_key;
    IF FOUND THEN
        o_outcome := CASE WHEN v_hash = p_hash THEN 'replayed' ELSE 'mismatch' END;
        RETURN;
    END IF;
    SELECT * INTO v_to FROM gb_move(p_player, p_currency, p_amount);
    SELECT coalesce(sum(l.balance), 0) INTO v_total FROM (
        SELECT s.balance FROM pool_shards s
         WHERE s.pool_id = p_pool AND s.currency = p_currency ORDER BY s.shard FOR UPDATE) l;
    IF v_total < p_amount THEN
        RAISE EXCEPTION 'insufficient_pool_funds' USING ERRCODE = 'GB409';
    END IF;
    FOR v_shard IN SELECT s.shard, s.balance FROM pool_shards s
                    WHERE s.pool_id = p_pool AND s.currency = p_currency AND s.balance > 0
                    ORDER BY s.balance DESC, s.shard LOOP
        EXIT WHEN v_left = 0;
        v_take := least(v_left, v_shard.balance);
        UPDATE pool_shards s SET balance = s.balance - v_take
         WHERE s.pool_id = p_pool AND s.currency = p_currency AND s.shard = v_shard.shard;
        v_left := v_left - v_take;
    END LOOP;
    INSERT INTO ledger (txn_id, player_id, currency, amount, balance_after, kind, reason, ref)
    VALUES (v_txn, p_player, p_currency, p_amount, v_to.o_balance, 'pool_payout', p_reason, p_pool);
    o_response := jsonb_build_object('txn_id', v_txn, 'pool', p_pool, 'currency', p_currency,
                                     'amount', p_amount, 'balance', v_to.o_balance,
                                     'player_id', p_player);
    INSERT INTO idempotency (scope, key, request_hash, txn_id, response)
    VALUES (p_scope, p_key, p_hash, v_txn, o_response) ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'idempotency key raced' USING ERRCODE = 'GB423';
    END IF;
    o_outcome := 'applied';
    o_proj := jsonb_build_array(jsonb_build_array(p_player, p_currency, v_to.o_version, v_to.o_balance));
END $$;

-- Append an inventory event and update its fold; never below zero.
CREATE FUNCTION gb_items(p_txn uuid, p_player uuid, p_item text, p_delta bigint, p_kind text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE v_qty bigint;
BEGIN
    IF p_delta > 0 THEN
        INSERT INTO inventory_items AS i (player_id, item_id, qty, version)
        VALUES (p_player, p_item, p_delta, 1)
        ON CONFLICT (player_id, item_id) DO UPDATE
           SET qty = i.qty + EXCLUDED.qty, version = i.version + 1
        RETURNING i.qty INTO v_qty;
    ELSE
        UPDATE inventory_items i SET qty = i.qty + p_delta, version = i.version + 1
         WHERE i.player_id = p_player AND i.item_id = p_item AND i.qty + p_delta >= 0
        RETURNING i.qty INTO v_qty;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'insufficient_items' USING ERRCODE = 'GB409';
        END IF;
    END IF;
    INSERT INTO inventory_events (txn_id, player_id, item_id, delta, kind)
    VALUES (p_txn, p_player, p_item, p_delta, p_kind);
    RETURN v_qty;
END $$;

-- Buy p_qty of an item at p_price each: the wallet debit and the item grant commit together.
CREATE FUNCTION gb_purchase(p_scope text, p_key text, p_hash bytea, p_player uuid,
                            p_item text, p_qty bigint, p_currency text, p_price bigint,
                            OUT o_outcome text, OUT o_response jsonb, OUT o_proj jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    v_hash bytea; v_balance bigint; v_version bigint; v_qty bigint; v_cost bigint := p_price * p_qty;
    v_txn uuid := gen_random_uuid();
BEGIN
    SELECT i.request_hash, i.response INTO v_hash, o_response
      FROM idempotency i WHERE i.scope = p_scope AND i.key = p_key;
    IF FOUND THEN
        o_outcome := CASE WHEN v_hash = p_hash THEN 'replayed' ELSE 'mismatch' END;
        RETURN;
    END IF;
    UPDATE wallets w SET balance = w.balance - v_cost, version = w.version + 1
     WHERE w.player_id = p_player AND w.currency = p_currency AND w.balance >= v_cost
    RETURNING w.balance, w.version INTO v_balance, v_version;
    IF NOT FOUND THEN
        PERFORM gb_refuse_debit(p_player);
    END IF;
    INSERT INTO ledger (txn_id, player_id, currency, amount, balance_after, kind, ref)
    VALUES (v_txn, p_player, p_currency, -v_cost, v_balance, 'purchase', p_item);
    v_qty := gb_items(v_txn, p_player, p_item, p_qty, 'purchase');
    o_response := jsonb_build_object('txn_id', v_txn, 'item_id', p_item, 'qty', p_qty,
                                     'owned', v_qty, 'currency', p_currency, 'cost', v_cost,
                                     'balance', v_balance);
    INSERT INTO idempotency (scope, key, request_hash, txn_id, response)
    VALUES (p_scope, p_key, p_hash, v_txn, o_response) ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'idempotency key raced' USING ERRCODE = 'GB423';
    END IF;
    o_outcome := 'applied';
    o_proj := jsonb_build_array(jsonb_build_array(p_player, p_currency, v_version, v_balance));
END $$;

-- Consume (p_delta < 0) or grant (p_delta > 0) items.
CREATE FUNCTION gb_inventory_change(p_scope text, p_key text, p_hash bytea, p_player uuid,
                                    p_item text, p_delta bigint, p_kind text,
                                    OUT o_outcome text, OUT o_response jsonb, OUT o_proj jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    v_hash bytea; v_qty bigint; v_txn uuid := gen_random_uuid();
BEGIN
    SELECT i.request_hash, i.response INTO v_hash, o_response
      FROM idempotency i WHERE i.scope = p_scope AND i.key = p_key;
    IF FOUND THEN
        o_outcome := CASE WHEN v_hash = p_hash THEN 'replayed' ELSE 'mismatch' END;
        RETURN;
    END IF;
    v_qty := gb_items(v_txn, p_player, p_item, p_delta, p_kind);
    o_response := jsonb_build_object('txn_id', v_txn, 'item_id', p_item, 'qty', abs(p_delta),
                                     'owned', v_qty);
    INSERT INTO idempotency (scope, key, request_hash, txn_id, response)
    VALUES (p_scope, p_key, p_hash, v_txn, o_response) ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'idempotency key raced' USING ERRCODE = 'GB423';
    END IF;
    o_outcome := 'applied';
END $$;

CREATE FUNCTION gb_period(p_reset text, p_at timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE p_reset
        WHEN 'daily' THEN to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')
        WHEN 'weekly' THEN to_char(p_at AT TIME ZONE 'UTC', 'IYYY-"W"IW')
        ELSE 'all' END
$$;

-- Idempotent per (board, player, submission id). The record is the fold of the period's
-- submissions under the board's operator: best (max), latest, increment (sum).
CREATE FUNCTION gb_submit_score(p_board text, p_operator text, p_reset text, p_player uuid,
                                p_submission text, p_score bigint,
                                OUT o_outcome text, OUT o_response jsonb, OUT o_proj jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    v_prev bigint; v_period text := gb_period(p_reset, now());
    v_score bigint; v_at timestamptz; v_version bigint;
BEGIN
    SELECT s.score, s.response INTO v_prev, o_response FROM lb_submissions s
     WHERE s.board_id = p_board AND s.player_id = p_player AND s.submission_id = p_submission;
    IF FOUND THEN
        o_outcome := CASE WHEN v_prev = p_score THEN 'replayed' ELSE 'mismatch' END;
        RETURN;
    END IF;
    INSERT INTO lb_records AS r (board_id, period, player_id, score, achieved_at, version)
    VALUES (p_board, v_period, p_player, p_score, now(), 1)
    ON CONFLICT (board_id, period, player_id) DO UPDATE
       SET score = CASE WHEN p_operator = 'increment' THEN r.score + EXCLUDED.score
                        ELSE EXCLUDED.score END,
           achieved_at = EXCLUDED.achieved_at, version = r.version + 1
     WHERE p_operator <> 'best' OR EXCLUDED.score > r.score
    RETURNING r.score, r.achieved_at, r.version INTO v_score, v_at, v_version;
    IF v_score IS NULL THEN  -- "best" and not better: the record stands
        SELECT r.score INTO v_score FROM lb_records r
         WHERE r.board_id = p_board AND r.period = v_period AND r.player_id = p_player;
    ELSE
        o_proj := jsonb_build_array(p_board, v_period, p_player, v_version, v_score,
                                    (extract(epoch FROM v_at) * 1000000)::bigint);
    END IF;
    o_response := jsonb_build_object('leaderboard_id', p_board, 'period', v_period,
                                     'player_id', p_player, 'submission_id', p_submission,
                                     'score', v_score);
    INSERT INTO lb_submissions (board_id, player_id, submission_id, period, score, response)
    VALUES (p_board, p_player, p_submission, v_period, p_score, o_response)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'submission raced' USING ERRCODE = 'GB423';
    END IF;
    o_outcome := 'applied';
END $$;

CREATE FUNCTION gb_create_player(p_name text, p_currencies text[])
RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE v_id uuid;
BEGIN
    INSERT INTO players (name) VALUES (p_name) RETURNING player_id INTO v_id;
    INSERT INTO wallets (player_id, currency) SELECT v_id, c FROM unnest(p_currencies) c;
    RETURN v_id;
END $$;
