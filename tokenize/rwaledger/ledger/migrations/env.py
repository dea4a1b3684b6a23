"""The Alembic environment of the ledger database (target: :data:`rwaledger.ledger.schema.metadata`).

The ledger runs it itself (:func:`rwaledger.ledger.db.migrate`, from ``Ledger.open``) on the connection it
opened, passed in ``config.attributes["connection"]``; no ``alembic.ini`` is needed. After editing schema.py,
write the next revision from Python with the configuration built in code, against a database at the head:

    from alembic import command
    from rwaledger.ledger.db import alembic_config
    command.revision(alembic_config("sqlite:///build/ledger.sqlite"), "what changed", autogenerate=True)

then read it over (it is a snapshot: spell the types out, import nothing from schema.py).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from rwaledger.ledger import schema

config = context.config
target_metadata = schema.metadata


def _url() -> str:
    return context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")


def run_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:  # the ledger's own call: its connection, its transaction
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(_url())
    try:
        with engine.connect() as conn:
            context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
