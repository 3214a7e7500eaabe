"""knowledge base: each chunk's term counts for ranking, so a search need not tokenize its text

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-11 02:00:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from agent.store.knowledge import chunk_terms, encode_terms


revision: str = '0013'
down_revision: Union[str, None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BATCH = 1000  # chunks counted and written at a time

# SQLite: the full-text index follows only the columns it holds, so that writing a chunk's
# counts (here, for every chunk) does not delete and re-add its words in the FTS5 table.
SQLITE_TRIGGER = """CREATE TRIGGER kb_chunks_au AFTER UPDATE OF {columns} ON kb_chunks BEGIN
        INSERT INTO kb_chunks_fts(kb_chunks_fts, rowid, title, section, text)
        VALUES ('delete', old.id, old.title, old.section, old.text);
        INSERT INTO kb_chunks_fts(rowid, title, section, text) VALUES (new.id, new.title, new.section, new.text);
    END"""


def upgrade() -> None:
    with op.batch_alter_table('kb_chunks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('terms', sa.Text(), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("DROP TRIGGER kb_chunks_au")
        op.execute(SQLITE_TRIGGER.format(columns="title, section, text"))
    # The chunks already stored are counted as `KnowledgeStore.put` counts new ones; the length
    # is written again from the same counts, so the two always agree.
    select = sa.text("SELECT id, title, section, text FROM kb_chunks WHERE id > :after ORDER BY id LIMIT :batch")
    update = sa.text("UPDATE kb_chunks SET terms = :terms, length = :length WHERE id = :id")
    after = 0
    while rows := bind.execute(select, {"after": after, "batch": BATCH}).all():
        values = []
        for chunk_id, title, section, text in rows:
            counts = chunk_terms(title, section, text)
            values.append({"id": chunk_id, "terms": encode_terms(counts), "length": sum(counts.values())})
        bind.execute(update, values)
        after = rows[-1][0]


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER kb_chunks_au")
        # 0012's trigger: any change to a chunk re-indexes it.
        op.execute(SQLITE_TRIGGER.replace(" OF {columns}", ""))
        # In place: copying the table (batch mode) would drop the FTS5 triggers with the old one.
        op.execute("ALTER TABLE kb_chunks DROP COLUMN terms")
    else:
        op.drop_column('kb_chunks', 'terms')
