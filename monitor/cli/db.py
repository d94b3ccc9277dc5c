"""`amlmon db …`: schema migrations."""

from __future__ import annotations

import typer
from sqlalchemy.engine import make_url

from monitor import db
from monitor.cli.context import AppContext

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Create or migrate the schema to the latest revision (alembic upgrade head)."""
    context: AppContext = ctx.obj
    url = context.settings.database_url
    db.upgrade(url)
    shown = make_url(db.normalize_url(url)).render_as_string(hide_password=True)
    typer.echo(f"database {shown} is at revision {db.head_revision()}")
