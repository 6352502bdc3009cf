"""Alembic environment, run by Flask-Migrate inside the app's context (``flask db ...``).

The schema is made only here: tests and deployments run ``upgrade`` and then ``check``.
"""

from __future__ import annotations

import logging
from logging.config import fileConfig
from typing import Any

from alembic import context
from flask import current_app

# Import every feature's models so autogenerate and `db check` see the whole schema.
from registry.auth import models as _auth_models  # noqa: F401
from registry.bodies import models as _bodies_models  # noqa: F401
from registry.labels import models as _labels_models  # noqa: F401
from registry.ledger import models as _ledger_models  # noqa: F401
from registry.pact import models as _pact_models  # noqa: F401
from registry.recognition import models as _recognition_models  # noqa: F401
from registry.reports import models as _reports_models  # noqa: F401
from registry.schemes import models as _schemes_models  # noqa: F401

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db
engine = target_db.engine
config.set_main_option(
    "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
)


def _skip_empty_revision(ctx: Any, revision: Any, directives: list[Any]) -> None:
    """Do not write an empty migration when autogenerate finds no change."""
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected.")


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_db.metadata,
        literal_binds=True,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", _skip_empty_revision)
    conf_args.setdefault("compare_type", True)
    if engine.dialect.name == "sqlite":
        # registry.db takes over SQLite's transaction handling, which makes DDL transactional:
        # a failing migration then leaves no half-built schema behind, as on PostgreSQL.
        conf_args.setdefault("transactional_ddl", True)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_db.metadata, **conf_args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
