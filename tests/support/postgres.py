"""A throwaway Postgres database per test session.

Order of preference: $AMLMON_TEST_DATABASE_URL (a server URL; a database is
created on it), then a server on 127.0.0.1:5432 with trust auth as `postgres`,
then a temporary cluster started with the system's PostgreSQL binaries.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

LOCAL_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _reachable(url: str) -> bool:
    try:
        with psycopg.connect(_libpq(url), connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    raise RuntimeError(f"no Postgres server reachable and no {name} binary to start one")


@contextmanager
def _temporary_cluster() -> Iterator[str]:
    root = Path(tempfile.mkdtemp(prefix="amlmon-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    env = dict(os.environ)
    user_args: list[str] = []
    if os.geteuid() == 0:
        # initdb refuses to run as root; run the cluster as nobody in a folder it owns.
        shutil.chown(root, "nobody")
        shutil.chown(sock, "nobody")
        user_args = ["runuser", "-u", "nobody", "--"]
    port = _free_port()
    subprocess.run(
        [*user_args, _pg_bin("initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"],
        check=True, capture_output=True, env=env,
    )
    subprocess.run(
        [*user_args, _pg_bin("pg_ctl"), "-D", str(data), "-w", "-l", str(root / "log"),
         "-o", f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
        check=True, capture_output=True, env=env,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*user_args, _pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True, env=env,
        )
        shutil.rmtree(root, ignore_errors=True)


def _free_port() -> int:
    from support.anvil import free_port

    return free_port()


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield the URL of a Postgres server we may create databases on."""
    explicit = os.environ.get("AMLMON_TEST_DATABASE_URL")
    if explicit:
        yield explicit
    elif _reachable(LOCAL_SERVER):
        yield LOCAL_SERVER
    else:
        with _temporary_cluster() as url:
            yield url


def create_database(server_url: str, prefix: str = "amlmon_test") -> str:
    """Create an empty database on the server and return its SQLAlchemy URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_libpq(server_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(server_url).set(drivername="postgresql+psycopg", database=name)
    return url.render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    parsed = make_url(url)
    admin = parsed.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(_libpq(admin), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')


def clone_database(template_url: str) -> str:
    """A copy of a (migrated) template database: much faster than migrating again."""
    template = make_url(template_url)
    name = f"{template.database}_{uuid.uuid4().hex[:8]}".replace("_tmpl", "")
    admin = template.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(_libpq(admin), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template.database}"')
    return template.set(database=name).render_as_string(hide_password=False)
