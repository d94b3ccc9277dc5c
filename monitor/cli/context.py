"""What every command needs, built lazily from the --config option."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from monitor.db import make_engine, session_factory
from monitor.settings import Settings, load_settings


@dataclass
class AppContext:
    config_file: Path | None = None

    @cached_property
    def settings(self) -> Settings:
        return load_settings(self.config_file)

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.database_url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.engine)

    def close(self) -> None:
        """Release pooled connections when the command ends."""
        if "engine" in self.__dict__:
            self.engine.dispose()
