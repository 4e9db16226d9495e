-- 003: every memory (episodic and semantic) with its vector, and conflicts between memories.
-- Postgres is the source of truth; Qdrant is an index rebuilt from this table.
CREATE TABLE memories (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id             VARCHAR(100) NOT NULL,
    memory_type         VARCHAR(20) NOT NULL CHECK (memory_type IN ('episodic', 'semantic')),
    content             TEXT NOT NULL CHECK (length(content) > 0),
    speaker             VARCHAR(20) CHECK (speaker IN ('user', 'assistant', 'system')),
    importance          DOUBLE PRECISION NOT NULL DEFAULT 0.5 CHECK (importance BETWEEN 0 AND 1),
    importance_source   VARCHAR(20) NOT NULL DEFAULT 'heuristic'
                        CHECK (importance_source IN ('heuristic', 'llm', 'default', 'consolidation')),
    emotion_context     VARCHAR(50),
    pad_context         JSONB,
    interaction_id      BIGINT REFERENCES interactions (id) ON DELETE SET NULL,
    conversation_id     VARCHAR(100),
    -- Semantic memories keep the episodic memories they were consolidated from.
    source_memory_ids   UUID[] NOT NULL DEFAULT '{}',
    confidence          DOUBLE PRECISION CHECK (confidence BETWEEN 0 AND 1),
    consolidated_into   UUID REFERENCES memories (id) ON DELETE SET NULL,
    -- Retention: strength (in days) grows each time the memory is recalled; forgetting lowers the weight.
    access_count        INTEGER NOT NULL DEFAULT 0 CHECK (access_count >= 0),
    last_accessed_at    TIMESTAMPTZ,
    strength            DOUBLE PRECISION NOT NULL DEFAULT 1.0 CHECK (strength > 0),
    retrieval_weight    DOUBLE PRECISION NOT NULL DEFAULT 1.0 CHECK (retrieval_weight BETWEEN 0 AND 1),
    -- The vector, tagged with the model that made it: vectors of two models are never compared.
    embedding           vector,
    embedding_model     VARCHAR(100),
    embedding_dims      INTEGER CHECK (embedding_dims > 0),
    indexed_at          TIMESTAMPTZ,
    content_tsv         tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at          TIMESTAMPTZ,
    CHECK ((embedding IS NULL) = (embedding_model IS NULL)),
    CHECK (embedding IS NULL OR vector_dims(embedding) = embedding_dims)
);

CREATE INDEX ix_memories_user_type_created ON memories (user_id, memory_type, created_at DESC)
    WHERE deleted_at IS NULL;
CREATE INDEX ix_memories_content_tsv ON memories USING gin (content_tsv);
CREATE INDEX ix_memories_embedding_backlog ON memories (created_at) WHERE embedding IS NULL AND deleted_at IS NULL;
CREATE INDEX ix_memories_index_backlog ON memories (created_at)
    WHERE indexed_at IS NULL AND embedding IS NOT NULL AND deleted_at IS NULL;

CREATE TABLE memory_conflicts (
    id                  BIGSERIAL PRIMARY KEY,
    user_id             VARCHAR(100) NOT NULL,
    memory_id_1         UUID NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    memory_id_2         UUID NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    conflict_type       VARCHAR(50) NOT NULL CHECK (conflict_type IN ('contradiction', 'inconsistency', 'outdated')),
    description         TEXT,
    confidence          DOUBLE PRECISION CHECK (confidence BETWEEN 0 AND 1),
    resolution_status   VARCHAR(20) NOT NULL DEFAULT 'pending'
                        CHECK (resolution_status IN ('pending', 'resolved', 'ignored')),
    resolution_method   VARCHAR(20) CHECK (resolution_method IN ('recency', 'user', 'confidence')),
    winner_memory_id    UUID REFERENCES memories (id) ON DELETE SET NULL,
    resolution_note     TEXT,
    detected_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    resolved_at         TIMESTAMPTZ,
    CHECK (memory_id_1 <> memory_id_2)
);

CREATE UNIQUE INDEX ux_memory_conflicts_pair
    ON memory_conflicts (user_id, LEAST(memory_id_1, memory_id_2), GREATEST(memory_id_1, memory_id_2));
CREATE INDEX ix_memory_conflicts_user_pending ON memory_conflicts (user_id, detected_at DESC)
    WHERE resolution_status = 'pending';
