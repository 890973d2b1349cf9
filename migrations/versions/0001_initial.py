"""tracks, requests, emotion labels, model versions

Revision ID: 0001
Revises: 
Create Date: 2026-11-26

The emotion labels are a frozen snapshot of backend/core/domain/emotions.py (a test checks they agree);
a change to the vocabulary is a new migration.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


# name, valence, arousal, speech label, music label
EMOTION_LABELS = [
    ("angry", 0.122, 0.830, True, True),
    ("happy", 1.000, 0.735, True, True),
    ("sad", 0.225, 0.333, True, True),
    ("neutral", 0.500, 0.500, True, False),
    ("calm", 0.442, 0.302, True, True),
    ("fearful", 0.083, 0.482, True, False),
    ("surprised", 0.784, 0.855, True, False),
    ("disgust", 0.052, 0.775, True, False),
    ("funny", 0.918, 0.610, False, True),
    ("tender", 0.630, 0.520, False, True),
    ("exciting", 0.950, 0.792, False, True),
    ("scary", 0.062, 0.952, False, True),
]


def upgrade() -> None:
    op.create_table('emotion_labels',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('valence', sa.Float(), nullable=False),
    sa.Column('arousal', sa.Float(), nullable=False),
    sa.Column('speech', sa.Boolean(), nullable=False),
    sa.Column('music', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_emotion_labels'))
    )
    op.bulk_insert(
        sa.table(
            "emotion_labels",
            sa.column("name", sa.String), sa.column("valence", sa.Float), sa.column("arousal", sa.Float),
            sa.column("speech", sa.Boolean), sa.column("music", sa.Boolean),
        ),
        [dict(zip(("name", "valence", "arousal", "speech", "music"), row)) for row in EMOTION_LABELS],
    )
    op.create_table('model_versions',
    sa.Column('version', sa.String(length=128), nullable=False),
    sa.Column('model_dir', sa.Text(), nullable=False),
    sa.Column('collection', sa.String(length=160), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_model_versions')),
    sa.UniqueConstraint('collection', name=op.f('uq_model_versions_collection'))
    )
    op.create_table('recommendation_requests',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('speech_sha256', sa.String(length=64), nullable=False),
    sa.Column('transcript', sa.Text(), nullable=True),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('result_limit', sa.Integer(), nullable=False),
    sa.Column('query', sa.JSON(), nullable=True),
    sa.Column('results', sa.JSON(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('media_format', sa.String(length=16), nullable=False),
    sa.Column('duration_seconds', sa.Float(), nullable=False),
    sa.Column('model_version', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('queued', 'processing', 'ready', 'failed')", name=op.f('ck_recommendation_requests_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recommendation_requests'))
    )
    with op.batch_alter_table('recommendation_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recommendation_requests_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_recommendation_requests_speech_sha256'), ['speech_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_recommendation_requests_status'), ['status'], unique=False)

    op.create_table('active_model',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=128), nullable=False),
    sa.Column('switched_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_active_model_single_row')),
    sa.ForeignKeyConstraint(['version'], ['model_versions.version'], name=op.f('fk_active_model_version_model_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_active_model'))
    )
    op.create_table('tracks',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=True),
    sa.Column('artist', sa.String(length=500), nullable=True),
    sa.Column('external_id', sa.String(length=500), nullable=True),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('emotion', sa.String(length=32), nullable=True),
    sa.Column('probabilities', sa.JSON(), nullable=True),
    sa.Column('valence', sa.Float(), nullable=True),
    sa.Column('arousal', sa.Float(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('media_format', sa.String(length=16), nullable=False),
    sa.Column('duration_seconds', sa.Float(), nullable=False),
    sa.Column('model_version', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('queued', 'processing', 'ready', 'failed')", name=op.f('ck_tracks_status')),
    sa.ForeignKeyConstraint(['emotion'], ['emotion_labels.name'], name=op.f('fk_tracks_emotion_emotion_labels')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tracks')),
    sa.UniqueConstraint('content_sha256', name=op.f('uq_tracks_content_sha256'))
    )
    with op.batch_alter_table('tracks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tracks_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tracks_emotion'), ['emotion'], unique=False)
        batch_op.create_index(batch_op.f('ix_tracks_external_id'), ['external_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tracks_status'), ['status'], unique=False)

    op.create_table('track_tags',
    sa.Column('track_id', sa.Uuid(), nullable=False),
    sa.Column('tag', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['track_id'], ['tracks.id'], name=op.f('fk_track_tags_track_id_tracks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('track_id', 'tag', name=op.f('pk_track_tags'))
    )
    with op.batch_alter_table('track_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_track_tags_tag'), ['tag'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('track_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_track_tags_tag'))

    op.drop_table('track_tags')
    with op.batch_alter_table('tracks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tracks_status'))
        batch_op.drop_index(batch_op.f('ix_tracks_external_id'))
        batch_op.drop_index(batch_op.f('ix_tracks_emotion'))
        batch_op.drop_index(batch_op.f('ix_tracks_created_at'))

    op.drop_table('tracks')
    op.drop_table('active_model')
    with op.batch_alter_table('recommendation_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recommendation_requests_status'))
        batch_op.drop_index(batch_op.f('ix_recommendation_requests_speech_sha256'))
        batch_op.drop_index(batch_op.f('ix_recommendation_requests_created_at'))

    op.drop_table('recommendation_requests')
    op.drop_table('model_versions')
    op.drop_table('emotion_labels')
