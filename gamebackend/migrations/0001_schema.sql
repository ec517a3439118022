-- Tables of the reference backend. PostgreSQL is the source of truth for everything; Redis only
-- holds projections that can be rebuilt from these tables.

CREATE TABLE players (
    player_id  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 64),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- One row per (player, currency). `version` grows on every change so that Redis projection
-- writes can be applied in any order (an older version never overwrites a newer one).
-- fillfactor leaves room for HOT updates: balance and version are not indexed.
CREATE TABLE wallets (
    player_id uuid   NOT NULL REFERENCES players (player_id),
    currency  text   NOT NULL,
    balance   bigint NOT NULL DEFAULT 0 CONSTRAINT wallets_balance_nonnegative CHECK (balance >= 0),
    version   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (player_id, currency)
) WITH (fillfactor = 80);

-- Append-only money ledger. `ref` names the other side: a pool id, the counterparty of a
-- transfer, the item of a purchase. Entries of one wallet are inserted while its row is
-- locked, so entry_id order is the order in which they were applied.
CREATE TABLE ledger (
    entry_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    txn_id        uuid   NOT NULL,
    player_id     uuid   NOT NULL,
    currency      text   NOT NULL,
    amount        bigint NOT NULL CHECK (amount <> 0),
    balance_after bigint NOT NULL,
    kind          text   NOT NULL,
    reason        text   NOT NULL DEFAULT '',
    ref           text   NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_by_player ON ledger (player_id, entry_id);

-- One row per (scope, Idempotency-Key): the request's hash and the response it got. Only
-- successful writes are stored; a refused request (409) can be retried with the same key.
CREATE TABLE idempotency (
    scope        text  NOT NULL,
    key          text  NOT NULL,
    request_hash bytea NOT NULL,
    txn_id       uuid  NOT NULL,
    response     jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);

-- Jackpot pools as sharded counters: a contribution adds to one shard picked at random, so
-- concurrent contributions rarely wait for each other. The pool balance is the sum of its shards.
CREATE TABLE pool_shards (
    pool_id  text   NOT NULL,
    currency text   NOT NULL,
    shard    int    NOT NULL,
    balance  bigint NOT NULL DEFAULT 0 CONSTRAINT pool_shards_balance_nonnegative CHECK (balance >= 0),
    PRIMARY KEY (pool_id, currency, shard)
) WITH (fillfactor = 70);

-- Event-sourced inventory: events are the truth; inventory_items is their fold, kept in the
-- same transaction (so it is exact, and `gamebackend check` verifies it).
CREATE TABLE inventory_events (
    event_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    txn_id     uuid NOT NULL,
    player_id  uuid NOT NULL,
    item_id    text NOT NULL,
    delta      bigint NOT NULL CHECK (delta <> 0),
    kind       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inventory_events_by_player ON inventory_events (player_id, event_id);

CREATE TABLE inventory_items (
    player_id uuid   NOT NULL REFERENCES players (player_id),
    item_id   text   NOT NULL,
    qty       bigint NOT NULL CONSTRAINT inventory_items_qty_nonnegative CHECK (qty >= 0),
    version   bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (player_id, item_id)
);

-- Leaderboards: every submission is kept (idempotent per submission id); lb_records is the
-- per-period fold under the board's operator. `achieved_at` is when the record reached its
-- current score: the tie-break after the score (then the player id).
CREATE TABLE lb_submissions (
    board_id      text   NOT NULL,
    player_id     uuid   NOT NULL,
    submission_id text   NOT NULL,
    period        text   NOT NULL,
    score         bigint NOT NULL,
    seq           bigint GENERATED ALWAYS AS IDENTITY,
    response      jsonb  NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (board_id, player_id, submission_id)
);

CREATE TABLE lb_records (
    board_id    text   NOT NULL,
    period      text   NOT NULL,
    player_id   uuid   NOT NULL REFERENCES players (player_id),
    score       bigint NOT NULL,
    achieved_at timestamptz NOT NULL,
    version     bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (board_id, period, player_id)
);
CREATE INDEX lb_records_rank ON lb_records (board_id, period, score DESC, achieved_at, player_id);

-- Secrets generated on first start when the settings do not give them (token HMAC key, admin key).
CREATE TABLE app_secrets (
    name  text PRIMARY KEY,
    value text NOT NULL
);

-- Every running API process, with a heartbeat. A process that stops heartbeating without a clean
-- shutdown may have died between a commit and its Redis projection write: whoever notices
-- invalidates the projections.
CREATE TABLE api_instances (
    instance_id uuid PRIMARY KEY,
    pid         int  NOT NULL,
    host        text NOT NULL,
    version     text NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    heartbeat   timestamptz NOT NULL DEFAULT now()
);
