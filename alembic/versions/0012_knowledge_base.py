"""knowledge base: documents, their chunks with a full-text index (and, for semantic search, their
vectors), and the sources a turn cited

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 02:00:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0012'
down_revision: Union[str, None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# SQLite: an external-content FTS5 table kept in step with kb_chunks by triggers. Porter stems
# English ("returns" finds "returned"); unicode61 folds case and diacritics in every script.
SQLITE_INDEX = [
    """CREATE VIRTUAL TABLE kb_chunks_fts USING fts5(
        title, section, text, content='kb_chunks', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER kb_chunks_ai AFTER INSERT ON kb_chunks BEGIN
        INSERT INTO kb_chunks_fts(rowid, title, section, text) VALUES (new.id, new.title, new.section, new.text);
    END""",
    """CREATE TRIGGER kb_chunks_ad AFTER DELETE ON kb_chunks BEGIN
        INSERT INTO kb_chunks_fts(kb_chunks_fts, rowid, title, section, text)
        VALUES ('delete', old.id, old.title, old.section, old.text);
    END""",
    """CREATE TRIGGER kb_chunks_au AFTER UPDATE ON kb_chunks BEGIN
        INSERT INTO kb_chunks_fts(kb_chunks_fts, rowid, title, section, text)
        VALUES ('delete', old.id, old.title, old.section, old.text);
        INSERT INTO kb_chunks_fts(rowid, title, section, text) VALUES (new.id, new.title, new.section, new.text);
    END""",
]

# PostgreSQL: a generated tsvector (title weighs most, then the section) under a GIN index.
POSTGRES_INDEX = [
    """ALTER TABLE kb_chunks ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A')
        || setweight(to_tsvector('english', section), 'B')
        || setweight(to_tsvector('english', text), 'C')) STORED""",
    "CREATE INDEX ix_kb_chunks_search ON kb_chunks USING gin (search_vector)",
]


def upgrade() -> None:
    op.create_table('kb_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('collection', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('chunk_count', sa.Integer(), nullable=False),
    sa.Column('ingested_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('collection', 'source', name='uq_kb_document_source')
    )
    with op.batch_alter_table('kb_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_documents_collection'), ['collection'], unique=False)
    op.create_table('kb_chunks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('collection', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('ordinal', sa.Integer(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('section', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('length', sa.Integer(), nullable=False),
    sa.Column('embedding', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['document_id'], ['kb_documents.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('kb_chunks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_chunks_document_id'), ['document_id'], unique=False)
    with op.batch_alter_table('turns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sources', sa.Text(), nullable=True))
    for statement in SQLITE_INDEX if op.get_bind().dialect.name == "sqlite" else POSTGRES_INDEX:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("kb_chunks_au", "kb_chunks_ad", "kb_chunks_ai"):
            op.execute(f"DROP TRIGGER {name}")
        op.execute("DROP TABLE kb_chunks_fts")
    with op.batch_alter_table('turns', schema=None) as batch_op:
        batch_op.drop_column('sources')
    with op.batch_alter_table('kb_chunks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_chunks_document_id'))
    op.drop_table('kb_chunks')
    with op.batch_alter_table('kb_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_documents_collection'))
    op.drop_table('kb_documents')
