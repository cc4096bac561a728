/** Schema migrations of the SQLite store, applied in order; never edit a shipped one. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE flavors (
    flavor_id   TEXT PRIMARY KEY,
    provider_id TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('live', 'withdrawn')),
    json        TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    auto_renew  INTEGER NOT NULL,
    ttl_seconds INTEGER NOT NULL
  );
  CREATE INDEX flavors_status ON flavors (status);
  CREATE TABLE transactions (
    transaction_id TEXT PRIMARY KEY,
    flavor_id      TEXT NOT NULL,
    buyer_id       TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('reserved', 'purchased', 'expired', 'cancelled')),
    expires_at     INTEGER NOT NULL,
    json           TEXT NOT NULL
  );
  CREATE INDEX transactions_open ON transactions (status) WHERE status = 'reserved';
  CREATE TABLE contracts (
    contract_id    TEXT PRIMARY KEY,
    transaction_id TEXT NOT NULL UNIQUE REFERENCES transactions (transaction_id),
    buyer_id       TEXT NOT NULL,
    seller_id      TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    json           TEXT NOT NULL
  );
  CREATE INDEX contracts_buyer ON contracts (buyer_id, created_at);
  CREATE INDEX contracts_seller ON contracts (seller_id, created_at);
  CREATE TABLE events (
    seq       INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    flavor_id TEXT NOT NULL,
    wire      TEXT NOT NULL,
    prev      TEXT,
    buyer_id  TEXT
  );
  CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
  INSERT INTO meta (key, value) VALUES ('last_seq', 0);
  `,
  // 2: the history's name (§8 epoch): made once with the store, never changed after.
  `
  CREATE TABLE meta_text (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  INSERT INTO meta_text (key, value) VALUES ('epoch', lower(hex(randomblob(8))));
  `,
  // 3: contract signing keys (§12) and the dialect a transaction was reserved in (§13).
  `
  CREATE TABLE contract_keys (
    kid             TEXT PRIMARY KEY,
    created_at      INTEGER NOT NULL,
    private_key_pem TEXT NOT NULL,
    public_jwk      TEXT NOT NULL
  );
  ALTER TABLE transactions ADD COLUMN dialect TEXT;
  `,
  // 4: each flavor's summary (what a restart's catalog needs, without parsing the flavor);
  // NULL on rows written before, which the hub fills after its next start.
  `
  ALTER TABLE flavors ADD COLUMN summary TEXT;
  `,
];
