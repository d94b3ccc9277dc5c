"""Engines, sessions and schema migrations.

Data functions elsewhere take a Session and never commit: the caller owns the
transaction, which is how ingested rows and the ingest cursor commit together.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import UserError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

# Postgres advisory locks take two int4 keys: a namespace first, so that ours never collide
# with another application's on a shared server.
CHAIN_LEASE_LOCKS = 0x616D6C  # "aml": (namespace, chain id) — one ingesting process per chain
SCORING_LOCKS = 0x616D73  # "ams": (namespace, token id) — one scoring run per token at a time
LABEL_LOCKS = 0x616D62  # "amb": (namespace, CRC-32 of a label source) — one writer per source
RANKER_LOCKS = 0x616D72  # "amr": (namespace, token id) — one ranker training per token


def normalize_url(url: str) -> str:
    """Use psycopg 3 for plain postgres:// and postgresql:// URLs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for other backends, in-memory and URI filenames."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.query.get("uri"):
        return None
    database = parsed.database
    return Path(database) if database and database != ":memory:" else None


def make_engine(url: str, *, create: bool = False, **kwargs: Any) -> Engine:
    """An engine with the settings every backend needs (FKs on SQLite, liveness checks).

    A SQLite file that does not exist is an error unless `create` (migrations): SQLite would
    create an empty file on connect, so a mistyped path left folders and a database behind
    before the command failed for want of tables.
    """
    url = normalize_url(url)
    if is_sqlite(url):
        path = sqlite_file(url)
        if path is not None and not path.exists():
            if not create:
                raise UserError(f"database {path} does not exist "
                                "(run `amlmon db upgrade` to create it)")
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # application_name shows which process holds what in pg_stat_activity / pg_locks.
    connect_args = {"application_name": f"amlmon-{os.getpid()}"}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def as_utc(when: datetime) -> datetime:
    """A timestamp read back from the database: SQLite returns them naive, and ours are UTC."""
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def lock_for_transaction(session: Session, namespace: int, key: int) -> None:
    """Wait for a Postgres advisory lock that the session's transaction then holds until it
    ends. A no-op on SQLite, where one writer at a time is the rule anyway."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(namespace, key)))


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commits on success, rolls back on any exception."""
    with factory() as session, session.begin():
        yield session


def insert_rows(session: Session, model: Any, rows: Iterable[dict[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys) into `model`'s table in the session's
    transaction: one COPY on Postgres, an executemany elsewhere. Rows are read one at a
    time on Postgres, so a generator keeps a big write's rows out of memory.

    A first scoring run of a big token writes 10^5-10^6 score rows and pattern parts at
    once; SQLAlchemy's multi-row INSERTs cost most of that in Python (building and
    splitting the statements), COPY a fraction. Each value goes through its column's bind
    processing, as an INSERT would take it (uint256 checks, JSON, UTC times), and a
    column left out gets its Python-side default; ids come from the table's sequence."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return
    session.flush()  # what the session holds goes first, as it would with session.add
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        session.execute(insert(model), [first, *rows])
        return
    table = model.__table__
    names = list(first)
    processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                  for name in names]
    defaults = [(column.name, column.default.arg) for column in table.c
                if column.name not in first and column.default is not None
                and not column.primary_key]
    extra = [(name, arg(None) if callable(arg) else arg) for name, arg in defaults]
    quoted = ", ".join(f'"{name}"' for name in names + [name for name, _ in extra])
    tail = tuple(value for _, value in extra)
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(
            f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
        for row in itertools.chain((first,), rows):
            copy.write_row(tuple(
                value if process is None or value is None else process(value)
                for value, process in zip((row[name] for name in names), processors,
                                          strict=True)) + tail)


def next_ids(session: Session, model: Any, count: int) -> list[int]:
    """`count` new ids from the sequence of `model`'s id column (Postgres), for rows
    written by insert_rows whose ids the caller needs."""
    table = model.__table__.name
    return list(session.scalars(text(
        "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
        {"table": table, "n": count}))


# Alembic is imported where it is used: most commands never migrate, and it costs 0.15 s.


def alembic_config(url: str) -> Config:
    """Alembic configuration pointing at our migrations, independent of the working directory."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
