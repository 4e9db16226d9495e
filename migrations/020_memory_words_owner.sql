-- 020: full text finds a user's memories inside its index, not among everyone's. The index of 019 held the
-- words alone, so a word matched every user's memories that hold it, and each match was a heap visit only to
-- be filtered out by user_id: a user with 1,000 memories among 110,000 of 50 others paid 3-6 ms at the
-- median and 9-18 ms at p95 for other users' matches, against 0.4 / 1.5 ms here (docs/memory.md).
--
-- Each row's words are indexed with its owner as one more word, 'owner ' followed by the user id (a word of
-- text never holds a space, so no memory's words can take that form), and a query asks for its words AND
-- its owner: GIN intersects the two lists before any row is read. The indexed expression is the one the
-- queries write (gateway/memory/repository.py, OWNED_WORDS); ranking still reads content_tsv alone.
-- No index on user_id alone still (019: cached generic plans chose it).
CREATE INDEX ix_memory_words_owned_tsv ON memory_words
    USING gin ((content_tsv || array_to_tsvector(ARRAY['owner ' || user_id]))) WITH (fastupdate = off);
DROP INDEX ix_memory_words_content_tsv;
ANALYZE memory_words;
