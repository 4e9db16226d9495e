-- 008: the personality engine's rules, enforced by the database as well as the code (DESIGN §6).

-- Big Five traits and the profile are written once: no UPDATE may change them, and every later state row of
-- a user must carry the same values as the user's newest row (each row is checked on insert, so all agree).
CREATE FUNCTION personality_traits_are_fixed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    previous personality_state%ROWTYPE;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF (NEW.user_id, NEW.profile, NEW.openness, NEW.conscientiousness, NEW.extraversion, NEW.agreeableness,
            NEW.neuroticism)
           IS DISTINCT FROM
           (OLD.user_id, OLD.profile, OLD.openness, OLD.conscientiousness, OLD.extraversion, OLD.agreeableness,
            OLD.neuroticism) THEN
            RAISE EXCEPTION 'personality traits never change after initialisation (user %)', OLD.user_id
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END IF;
    SELECT * INTO previous FROM personality_state
    WHERE user_id = NEW.user_id
    ORDER BY created_at DESC, id DESC
    LIMIT 1;
    IF FOUND AND (NEW.profile, NEW.openness, NEW.conscientiousness, NEW.extraversion, NEW.agreeableness,
                  NEW.neuroticism)
                 IS DISTINCT FROM
                 (previous.profile, previous.openness, previous.conscientiousness, previous.extraversion,
                  previous.agreeableness, previous.neuroticism) THEN
        RAISE EXCEPTION 'personality traits never change after initialisation (user %)', NEW.user_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER tr_personality_state_traits_fixed
    BEFORE INSERT OR UPDATE ON personality_state
    FOR EACH ROW EXECUTE FUNCTION personality_traits_are_fixed();

-- The plan's ten labels plus `neutral` (inside a small radius of the baseline).
ALTER TABLE personality_state ADD CONSTRAINT ck_personality_state_emotion_label CHECK (
    emotion_label IN ('neutral', 'happy', 'sad', 'angry', 'fearful', 'surprised', 'disgusted', 'calm',
                      'excited', 'content', 'anxious')
);
ALTER TABLE personality_state ADD CONSTRAINT ck_personality_state_reason_length CHECK (length(reason) <= 500);

-- Quirk fading is applied in whole weeks since the later of last_expressed_at and last_faded_at, so running
-- the nightly evolution more than once a week never fades a quirk twice for the same week.
ALTER TABLE quirks ADD COLUMN last_faded_at TIMESTAMPTZ;
-- Who found the quirk: the fast LLM reading the companion's replies, or the local frequency miner.
ALTER TABLE quirks ADD COLUMN source VARCHAR(20) NOT NULL DEFAULT 'llm' CHECK (source IN ('llm', 'local'));
