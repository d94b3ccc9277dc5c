-- Turn `transfers` into a table partitioned by block number range (DESIGN.md "Scale").
--
--   psql "$DATABASE" -v ON_ERROR_STOP=1 -c "SET amlmon.partition_blocks = 1000000" \
--        -f scripts/partition-transfers.sql      (or the same SET, then \i, in one session)
--
-- Run once, with ingest stopped (it holds an exclusive lock on transfers while it copies
-- the rows), after `amlmon db upgrade`. It creates ranges of amlmon.partition_blocks
-- blocks (default 1,000,000) from block 0 up to one spare range past the highest stored
-- block, and a DEFAULT partition for everything beyond. Add ranges ahead of the chain head
-- before ingest reaches them, e.g. monthly (or with pg_partman):
--   CREATE TABLE transfers_b22000000 PARTITION OF transfers
--       FOR VALUES FROM (22000000) TO (23000000);
-- which Postgres refuses while the DEFAULT partition holds rows in that range.
--
-- Nothing in amlmon changes: the key (token, block, log, sub_index) contains the partition
-- key, no foreign key points at transfers, and COPY, ON CONFLICT, reorg deletes and
-- per-token block ranges all work on the partitioned table (tests/ingest/test_partitioned.py
-- runs ingest, reorg repair, export and scoring on it). Names of the key and indexes stay
-- those of the migrations, so later migrations still find them.

BEGIN;
LOCK TABLE transfers IN ACCESS EXCLUSIVE MODE;
DO $$
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = 'transfers'::regclass) = 'p' THEN
        RAISE EXCEPTION 'transfers is already partitioned: add ranges with CREATE TABLE … '
                        'PARTITION OF transfers FOR VALUES FROM (…) TO (…)';
    END IF;
END $$;

ALTER TABLE transfers RENAME TO transfers_unpartitioned;
ALTER TABLE transfers_unpartitioned RENAME CONSTRAINT pk_transfers TO pk_transfers_unpartitioned;
ALTER INDEX ix_transfers_tx_hash RENAME TO ix_transfers_unpartitioned_tx_hash;
ALTER INDEX ix_transfers_token_from RENAME TO ix_transfers_unpartitioned_token_from;
ALTER INDEX ix_transfers_token_to RENAME TO ix_transfers_unpartitioned_token_to;

-- LIKE copies the columns in order, with their types, collations and defaults.
CREATE TABLE transfers (LIKE transfers_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
    PARTITION BY RANGE (block_number);
ALTER TABLE transfers
    ADD CONSTRAINT pk_transfers PRIMARY KEY (token_id, block_number, log_index, sub_index);
CREATE INDEX ix_transfers_tx_hash ON transfers USING hash (tx_hash);
CREATE INDEX ix_transfers_token_from ON transfers (token_id, from_address);
CREATE INDEX ix_transfers_token_to ON transfers (token_id, to_address);

DO $$
DECLARE
    step bigint := coalesce(nullif(current_setting('amlmon.partition_blocks', true), ''),
                            '1000000')::bigint;
    top bigint;
    low bigint := 0;
BEGIN
    IF step < 1 THEN
        RAISE EXCEPTION 'amlmon.partition_blocks must be a positive number of blocks';
    END IF;
    SELECT coalesce(max(block_number), 0) + step INTO top FROM transfers_unpartitioned;
    WHILE low <= top LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF transfers FOR VALUES FROM (%s) TO (%s)',
                       'transfers_b' || low, low, low + step);
        low := low + step;
    END LOOP;
END $$;
CREATE TABLE transfers_beyond PARTITION OF transfers DEFAULT;

INSERT INTO transfers SELECT * FROM transfers_unpartitioned;
DROP TABLE transfers_unpartitioned;
COMMIT;
