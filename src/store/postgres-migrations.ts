/**
 * Schema migrations of the PostgreSQL store, applied in order under an advisory lock (several
 * instances may start at once); never edit a shipped one. Times are ms since the epoch.
 */
export const PG_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
  -- The history's name (§8 epoch): made once with the store.
  INSERT INTO meta (key, value) VALUES ('epoch', substr(md5(random()::text || clock_timestamp()::text), 1, 16));
  -- One row: every commit that writes events takes its next seqs here, just before COMMIT, so
  -- seq order is commit order.
  CREATE TABLE seq_counter (id int PRIMARY KEY CHECK (id = 1), last_seq bigint NOT NULL);
  INSERT INTO seq_counter (id, last_seq) VALUES (1, 0);
  CREATE TABLE flavors (
    flavor_id   text PRIMARY KEY,
    provider_id text NOT NULL,
    status      text NOT NULL CHECK (status IN ('live', 'withdrawn')),
    json        text NOT NULL,
    expires_at  bigint NOT NULL,
    auto_renew  boolean NOT NULL,
    ttl_seconds integer NOT NULL,
    due_at      bigint
  );
  CREATE INDEX flavors_due ON flavors (due_at) WHERE status = 'live';
  CREATE TABLE transactions (
    transaction_id text PRIMARY KEY,
    flavor_id      text NOT NULL,
    buyer_id       text NOT NULL,
    status         text NOT NULL CHECK (status IN ('reserved', 'purchased', 'expired', 'cancelled')),
    expires_at     bigint NOT NULL,
    json           text NOT NULL,
    hold_key       text
  );
  CREATE INDEX transactions_open ON transactions (flavor_id) WHERE status = 'reserved';
  CREATE INDEX transactions_due ON transactions (expires_at) WHERE status = 'reserved';
  CREATE TABLE contracts (
    contract_id    text PRIMARY KEY,
    transaction_id text NOT NULL UNIQUE REFERENCES transactions (transaction_id),
    buyer_id       text NOT NULL,
    seller_id      text NOT NULL,
    created_at     bigint NOT NULL,
    json           text NOT NULL
  );
  CREATE INDEX contracts_buyer ON contracts (buyer_id, created_at);
  CREATE INDEX contracts_seller ON contracts (seller_id, created_at);
  CREATE TABLE events (
    seq       bigint PRIMARY KEY,
    at        bigint NOT NULL,
    flavor_id text NOT NULL,
    wire      text NOT NULL,
    prev      text,
    buyer_id  text
  );
  CREATE TABLE waiters (
    waiter_id      text PRIMARY KEY,
    line_pos       bigserial NOT NULL,
    flavor_id      text NOT NULL,
    instance_id    text NOT NULL,
    hold_key       text NOT NULL,
    buyer          text NOT NULL,
    configuration  text,
    outcome        text CHECK (outcome IN ('granted', 'not_found')),
    transaction_id text
  );
  CREATE INDEX waiters_line ON waiters (flavor_id, line_pos);
  CREATE INDEX waiters_instance ON waiters (instance_id) WHERE outcome IS NOT NULL;
  -- Each running instance: the backend of its listening connection (gone when the instance
  -- is) and a heartbeat (stale when its host is cut off without TCP noticing).
  CREATE TABLE instances (
    instance_id   text PRIMARY KEY,
    pid           integer NOT NULL,
    backend_start timestamptz NOT NULL,
    seen_at       bigint NOT NULL
  );
  `,
  // 2: contract signing keys (§12), and the dialect a transaction or waiter speaks (§13).
  `
  CREATE TABLE contract_keys (
    kid             text PRIMARY KEY,
    created_at      bigint NOT NULL,
    private_key_pem text NOT NULL,
    public_jwk      text NOT NULL
  );
  ALTER TABLE transactions ADD COLUMN dialect text;
  ALTER TABLE waiters ADD COLUMN dialect text;
  `,
  // 3: each flavor's summary (StoredFlavor.summary), as the SQLite store keeps it.
  `
  ALTER TABLE flavors ADD COLUMN summary text;
  `,
];
