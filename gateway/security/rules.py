"""The rule layer: patterns for the idea of each threat kind, not for particular attack strings.

Each rule names a threat kind and a weight (how sure a match alone makes us); the matches of one kind are
combined by noisy-OR, so two independent signs of the same thing count for more than either. A separate
"prompt shape" score measures how much a message reads like a prompt written to reprogram an assistant
(directives about how *you* must answer, rules, personas, output formats, placeholders), which is what
in-the-wild jailbreaks share whatever their wording.

Weights were set by hand from what each pattern means; a fun request ("talk like a pirate") or a question
about the companion ("what's your personality like?") matches nothing strong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gateway.security.schemas import ThreatKind

_I = re.IGNORECASE

# Words that point at the instructions a model runs under.
_INSTR = (
    r"(?:instructions?|rules?|prompts?|directives?|guidelines?|programming|commands?|restrictions?|"
    r"constraints?|guardrails?|filters?|polic(?:y|ies)|training|orders|protocols?|settings|limitations?|"
    r"safeguards?|boundaries)"
)
_EARLIER = r"(?:previous|prior|preceding|above|earlier|initial|original|old|system|existing|current|default|pre-?set)"
_IGNORE = (
    r"(?:ignore|ignoring|disregard|forget|override|overrule|bypass|circumvent|skip|discard|drop|abandon|neglect|"
    r"set aside|throw out|cancel|nullify|void|erase|delete|remove|reset|clear|unlearn|break)"
)
_REVEAL = (
    r"(?:reveal|show|print|repeat|output|display|tell|give|share|leak|dump|spell|write out|type out|recite|"
    r"list|expose|disclose|provide|paste|copy|echo|translate|summari[sz]e|read (?:me|back|out))"
)
_NO_LIMITS = (
    r"(?:no|without(?: any)?|free (?:of|from)|zero|0|not bound by(?: any)?|unbound by|beyond|outside(?: of)?)\s+"
    r"(?:\w+\s+){0,2}(?:restrictions?|limits?|limitations|filters?|filtering|censorship|boundaries|guidelines|"
    r"rules|morals?|morality|ethics|ethical (?:\w+ )?(?:guidelines|principles|constraints)|"
    r"content polic(?:y|ies)|safeguards|guardrails|constraints|restraints|regulations)"
)
_AI = r"(?:ai|a\.i\.|assistant|chat ?bot|language model|llm|chat ?gpt|gpt(?:-?\d)?|model|bot|machine)"
# The narrower words for what a model runs under: nobody's boss, recipe or board game has these.
_EARLIER_AI = r"(?:previous|prior|preceding|above|earlier|initial|original|system|default|pre-?set)"
_INSTR_AI = (
    r"(?:instructions?|prompts?|directives?|guidelines?|programming|guardrails?|safeguards?|filters?|"
    r"polic(?:y|ies)|protocols?|restrictions?|constraints?|limitations?)"
)
# An imperative at the start of the message, a sentence or a clause ("Now ignore...", "ok, forget..."), as
# opposed to reported speech ("my boss said to ignore...").
_IMPERATIVE = r"(?:^|[.!?;:,\n})\]>\"*-]\s*|\b(?:please|pls|now|so|ok|okay|and|then|just|also|first)\s+)"


@dataclass(frozen=True)
class Rule:
    name: str
    kind: ThreatKind
    weight: float
    pattern: re.Pattern[str]
    # A prefilter that keeps long texts cheap: the pattern can only match when the lower-cased text contains
    # one of these substrings (or, with ``any_non_ascii``, any non-ASCII character). Empty: always run.
    gate: tuple[str, ...] = ()
    any_non_ascii: bool = False
    # Alternatives in other scripts, searched only when the text has non-ASCII characters.
    non_latin: re.Pattern[str] | None = None
    # The pattern also matches what people say to each other every day ("forget what I told you", "stay in
    # character", "developer mode on my phone"): its match counts only when another sign corroborates it.
    everyday: bool = False

    def applies(self, lowered: str, ascii_only: bool) -> bool:
        if not self.gate:
            return True
        if self.any_non_ascii and not ascii_only:
            return True
        return any(word in lowered for word in self.gate)


def _rule(
    name: str,
    kind: ThreatKind,
    weight: float,
    pattern: str,
    flags: int = _I,
    *,
    gate: tuple[str, ...] = (),
    any_non_ascii: bool = False,
    non_latin: str | None = None,
    everyday: bool = False,
) -> Rule:
    extra = re.compile(non_latin, flags) if non_latin else None
    return Rule(name, kind, weight, re.compile(pattern, flags), gate, any_non_ascii, extra, everyday)


_INSTR_WORDS = (
    "instruction", "rule", "prompt", "directive", "guideline", "programming", "command", "restriction",
    "constraint", "guardrail", "filter", "polic", "training", "order", "protocol", "setting", "limitation",
    "safeguard", "boundar",
)  # fmt: skip


# The multilingual "ignore / forget" rules: the verbs, and what they are aimed at (the rules, or what came
# before), in the languages users write most.
_ML_VERBS = (
    r"ignor(?:a|ar|ate|ando|ez|eer|iere|ieren|ier)\b\w*|ignore\s+(?:as|os|las|los|les|la|le|die|der|das|tou(?:t|te|s|tes))\b|"
    r"ignoriere\w*|ignorier\w*|vergiss\w*|vergessen|missachte\w*|olvid[ae]\w*|oubli\w*|esque[cç]\w*|"
    r"dimentica\w*|negeer\w*|vergeet|zignoruj\w*|zapomnij|abaikan\w*|lupakan|yoksay\w*|unut\b"
)
_ML_VERBS_WORDS = r"görmezden|игнорир\w*|игнорируй\w*|забуд\w*|забудь|не\s+обращай|αγνο\w*|ξεχ\w*"
_ML_VERBS_UNBOUNDED = (
    r"忽略|忽视|无视|無視|忘记|忘掉|忘れ|무시|잊어|अनदेखी|अनदेखा|नज़रअंदाज़|नजरअंदाज|भूल\s+जा|تجاهل|انس|"
    r"התעלם|bỏ\s+qua|quên"
)
_ML_VERBS_FINAL = r"무시|잊어|अनदेखी|अनदेखा|नज़रअंदाज़|नजरअंदाज|भूल|無視|忘れ|görmezden|yoksay|unut"
_ML_RULES = (
    r"instruc|instruç|instrukc|instruks|instrukt|anweisung|vorgab|istruzion|consign|indicaç|indicacion|directiv|"
    r"diretiv|regras|reglas|règles|regeln|regole|talimat"
)
_ML_RULES_NON_LATIN = (
    r"инструкц|указани|правил|οδηγ|κανόν|指令|指示|命令|规则|規則|说明|지시|명령|규칙|निर्देश|नियम|"
    r"التعليمات|تعليمات|הוראות|hướng\s+dẫn"
)
_ML_RULES_FIRST = r"지시|명령|규칙|निर्देश|नियम|指示|命令|ルール|talimat"
_ML_BEFORE = r"anterior|précédent|vorherig|precedent[ei]|sebelum|önceki"
_ML_BEFORE_NON_LATIN = r"предыдущ|προηγούμ|之前|以前|前の|이전|पिछल|السابقة"
_ML_BEFORE_FIRST = r"이전|पिछल|以前|önceki"
_ML_GATE = (
    "ignor", "vergi", "vergess", "missacht", "olvid", "oubli", "esque", "dimentic", "negeer", "vergeet",
    "zignoruj", "zapomnij", "abaikan", "lupakan", "görmezden", "yoksay", "unut",
)  # fmt: skip


RP, II, SPE, BV = (
    ThreatKind.ROLE_PLAYING,
    ThreatKind.INSTRUCTION_INJECTION,
    ThreatKind.SYSTEM_PROMPT_EXTRACTION,
    ThreatKind.BOUNDARY_VIOLATION,
)

RULES: tuple[Rule, ...] = (
    # --- instruction injection: replacing the instructions the companion runs under -------------------------
    _rule(
        "ignore_previous_instructions",
        II,
        0.92,
        # told to the assistant ("Ignore all previous instructions"), or naming its setup anywhere
        rf"{_IMPERATIVE}{_IGNORE}\b[^.\n]{{0,40}}\b(?:all|any|every|your|the|my|these|those)?\s*(?:of\s+)?"
        rf"(?:the\s+|your\s+)?{_EARLIER_AI}\b[^.\n]{{0,25}}\b{_INSTR_AI}|"
        rf"\b{_IGNORE}\b[^.\n]{{0,40}}\b{_EARLIER}\b[^.\n]{{0,25}}\b(?:prompts?|directives?|programming|guardrails?|"
        rf"safeguards?)\b|\b{_IGNORE}\b[^.\n]{{0,40}}\bsystem\s+{_INSTR}",
        gate=_INSTR_WORDS,
    ),
    _rule(
        "ignore_earlier_rules",
        II,
        0.92,
        # "my boss said to ignore the old rules", "forget my previous command": everyday
        rf"\b{_IGNORE}\b[^.\n]{{0,40}}\b(?:all|any|every|your|the|my|these|those)?\s*(?:of\s+)?(?:the\s+|your\s+)?"
        rf"{_EARLIER}\b[^.\n]{{0,25}}\b{_INSTR}",
        gate=_INSTR_WORDS,
        everyday=True,
    ),
    _rule(
        "ignore_your_instructions",
        II,
        0.85,
        rf"\b{_IGNORE}\s+(?:all\s+)?(?:of\s+)?your\s+(?:\w+\s+)?(?:instructions?|prompts?|directives?|guidelines?|"
        rf"programming|guardrails?|safeguards?|filters?|polic(?:y|ies)|protocols?)\b",
        gate=_INSTR_WORDS,
    ),
    _rule(
        "ignore_your_rules",
        II,
        0.85,
        # "break your own rules for once", "forget your limitations", "reset your factory settings": everyday
        rf"\b{_IGNORE}\s+(?:all\s+)?(?:of\s+)?your\s+(?:\w+\s+)?{_INSTR}\b",
        gate=_INSTR_WORDS,
        everyday=True,
    ),
    _rule(
        "ignore_everything_before",
        II,
        0.85,
        r"\b(?:ignore|disregard|forget)\s+(?:all\s+|everything\s+|anything\s+|the\s+)?(?:that\s+|what\s+)?"
        r"(?:was\s+|you\s+were\s+|i\s+)?(?:said|told|written|stated|above|before|previously|so far)\b|"
        r"\b(?:ignore|disregard|forget)\s+(?:all\s+|everything\s+|anything\s+)(?:that\s+)?you(?:'ve|\s+have)?\s+"
        r"(?:been\s+)?(?:learned|learnt|told|taught)\b",
        everyday=True,  # "forget what I told you about moving", "forget everything you were taught about pasta"
    ),
    _rule(
        "ignore_your_training",
        II,
        0.85,
        r"\b(?:ignore|disregard|forget)\s+(?:all\s+|everything\s+|anything\s+)(?:that\s+)?you(?:'ve|\s+have)?\s+"
        r"(?:been\s+)?(?:trained|programmed|instructed)\b|"
        # what it was told before this conversation: its setup
        r"\b(?:ignore|disregard|forget)\s+(?:all\s+|everything\s+|anything\s+)[^.\n]{0,60}\bbefore\s+(?:this|our|the)\s+"
        r"(?:conversation|chat)\b",
    ),
    _rule(
        "ignore_the_above_and",
        II,
        0.85,
        # the text above (a document's word, not a friend's) set aside for a new task
        r"\b(?:ignore|disregard|forget)\s+(?:all\s+(?:of\s+)?|everything\s+)?(?:the\s+)?(?:text\s+)?above\s*"
        r"(?:directions|instructions|text|prompt)?\b[\s,]{0,3}(?:and|then)\s+(?:instead\s+)?(?:just\s+)?(?:say|"
        r"repeat|print|output|write|give\s+me|tell\s+me|reveal|answer|respond|reply|type|list|translate)\b",
    ),
    _rule(
        "ignore_instructions_multilingual",
        II,
        0.85,
        # "ignore / forget / disregard" near "instructions / directives / rules", in the languages users write
        # most; stems, so every conjugation and politeness form counts. Latin-script verbs here (the lookahead
        # skips positions that cannot start one), every script in ``non_latin``.
        rf"\b(?=[ivmoednzalyuIVMOEDNZALYU])(?:{_ML_VERBS})[^\n]{{0,60}}?(?:{_ML_RULES})",
        gate=_ML_GATE,
        non_latin=(
            rf"(?:\b(?:{_ML_VERBS}|{_ML_VERBS_WORDS})|{_ML_VERBS_UNBOUNDED})[^\n]{{0,60}}?(?:{_ML_RULES}|{_ML_RULES_NON_LATIN})|"
            # verb-final languages: the instructions first, then "ignore"
            rf"(?:{_ML_RULES_FIRST})[^\n]{{0,40}}?(?:{_ML_VERBS_FINAL})|"
            r"(?:無視して|忽略|무시하고)[^\n]{0,60}?(?:述べ|言って|書いて|说|回答して|答えて|말해|라고)"
        ),
    ),
    _rule(
        "forget_the_above_multilingual",
        II,
        0.85,
        # The same verbs near "what came before" ("olvida lo anterior, al final nos quedamos"): said every day
        # in any language, like its English twin ignore_everything_before.
        rf"\b(?=[ivmoednzalyuIVMOEDNZALYU])(?:{_ML_VERBS})[^\n]{{0,60}}?(?:{_ML_BEFORE})",
        gate=_ML_GATE,
        non_latin=(
            rf"(?:\b(?:{_ML_VERBS}|{_ML_VERBS_WORDS})|{_ML_VERBS_UNBOUNDED})[^\n]{{0,60}}?(?:{_ML_BEFORE}|{_ML_BEFORE_NON_LATIN})|"
            rf"(?:{_ML_BEFORE_FIRST})[^\n]{{0,40}}?(?:{_ML_VERBS_FINAL})"
        ),
        everyday=True,
    ),
    _rule(
        "new_instructions",
        II,
        0.6,
        rf"\b(?:new|updated|real|actual|true|revised|additional|secret|hidden|override)\s+{_INSTR}\s*(?::|are\b|follow)",
        everyday=True,  # "new rules at work: ..."
    ),
    _rule(
        "instead_do",
        II,
        0.45,
        r"\b(?:instead|rather),?\s+(?:you\s+(?:should|must|will)\s+)?(?:say|output|print|reply|respond|write|answer)\b",
        everyday=True,
    ),
    _rule(
        "fake_role_tag",
        II,
        0.9,
        r"<\|?\s*(?:im_start|im_end|system|endoftext|assistant|user|eot_id|start_header_id)\s*\|?>|<<\s*/?SYS\s*>>|"
        r"\[/?INST\]|\[\s*/?\s*(?:system|admin|developer|root|sudo|override)(?:\s+(?:message|prompt|note|override|mode))?\s*\]|"
        r"^\s*#{2,}\s*(?:system|instruction|new instruction)s?\b|"
        r"^\s*(?:system|admin|developer)\s*(?:message|prompt|override|note)?\s*:",
        _I | re.MULTILINE,
    ),
    _rule(
        "delimiter_break",
        II,
        0.7,
        r"\b(?:end|close|stop)\s+of\s+(?:the\s+)?(?:user\s+(?:input|text|data|message)|input|prompt|instructions|"
        r"system prompt)\b|"
        r"</\s*(?:user|input|context|document|data|query|instructions?|system|prompt)\s*>|"
        r"^\s*[-=#*_~]{3,}\s*(?:end|begin|start|new|system|admin|stop)\b|"
        r"\[\s*(?:user|human)\s+(?:left|has left|disconnected)|"
        r"\b(?:the\s+)?(?:previous|above)\s+(?:conversation|text|context|input)\s+(?:is|was|has been)\s+"
        r"(?:over|ended|a test|fake|void|cancelled|cleared)",
        _I | re.MULTILINE,
    ),
    _rule(
        "end_of_text",
        II,
        0.7,
        r"\b(?:end|close|stop)\s+of\s+(?:the\s+)?(?:context|document|text|conversation|data)\b",
        everyday=True,  # "at the end of the conversation he cried"
    ),
    _rule(
        "hidden_comment_instruction",
        II,
        0.7,
        r"<!--(?:(?!-->).){0,300}?\b(?:ignore|instruction|assistant|ai|respond|reply|say|tell|output|print|must|"
        r"should|you)\b",
        _I | re.DOTALL,
    ),
    _rule(
        "embedded_instruction_to_ai",
        II,
        0.7,
        rf"\b(?:note|message|instruction|attention|important)\s+(?:to|for)\s+(?:the\s+)?(?:{_AI}|reader|summari[sz]er)\b|"
        rf"\bif\s+you\s+are\s+(?:an?\s+)?(?:{_AI})\b[^.\n]{{0,40}}\b(?:reading|processing|summari[sz]ing)",
    ),
    _rule(
        "mode_switch",
        BV,
        0.85,
        r"\b(?:sudo|root|unrestricted|jailbreak|jailbroken|unfiltered|uncensored|evil|chaos|dan|opposite|unlocked|"
        r"override|no[- ]?filter|nsfw)\s+mode\b",
        gate=("mode",),
    ),
    _rule(
        "device_mode",
        BV,
        0.85,
        r"\b(?:developer|dev|debug|god|admin|administrator|maintenance|test(?:ing)?|diagnostic|raw|dark)\s+mode\b",
        gate=("mode",),
        everyday=True,  # "I turned on developer mode on my phone", "god mode in the game"
    ),
    _rule(
        "mode_enabled",
        BV,
        0.55,
        r"(?:\b|_)mode\s*(?:=|:)?\s*(?:enabled|activated|on|unlocked)\b|"
        r"\b(?:enable|activate|enter|switch to|turn on)\s+\w+\s+mode\b",
        everyday=True,  # "dark mode on"
    ),
    # --- system prompt extraction ---------------------------------------------------------------------------
    _rule(
        "reveal_system_prompt",
        SPE,
        0.88,
        rf"\b{_REVEAL}\b[^.\n?]{{0,30}}\b(?:your|the|its|this)\s+(?:\w+\s+)?(?:system|initial|hidden|"
        rf"secret|internal|underlying|pre-?|developer|confidential)[- ]?(?:\w+\s+)?(?:prompt|instructions|message|"
        rf"directives|configuration|config|programming|rules|guidelines)|"
        rf"\b{_REVEAL}\b[^.\n?]{{0,30}}\b(?:your|the|its|this)\s+(?:\w+\s+)?(?:original|starting|first|full|exact|"
        rf"complete|entire|base|core)[- ]?(?:\w+\s+)?(?:prompt|directives|configuration|config|programming)",
        gate=("prompt", "instruction", "message", "directive", "config", "programming", "rule", "guideline"),
    ),
    _rule(
        "reveal_full_instructions",
        SPE,
        0.88,
        rf"\b{_REVEAL}\b[^.\n?]{{0,30}}\b(?:your|the|its|this)\s+(?:\w+\s+)?(?:original|starting|first|full|exact|"
        rf"complete|entire|base|core)[- ]?(?:\w+\s+)?(?:instructions|message|rules|guidelines)",
        gate=("instruction", "message", "rule", "guideline"),
        everyday=True,  # "tell me the original rules of Monopoly", "give me the full instructions for the kit"
    ),
    _rule(
        "what_are_your_instructions",
        SPE,
        0.72,
        r"\bwhat\s+(?:are|were|is)\s+your\s+(?:\w+\s+)?(?:instructions|directives|system prompt|prompt|"
        r"programming|configuration|guidelines|rules(?!\s+(?:for|of|about|on)\b))|"
        r"\bwhat\s+(?:were|have)\s+you\s+(?:been\s+)?(?:told|instructed|programmed|prompted|configured)\b|"
        r"\bhow\s+(?:were|are)\s+you\s+(?:prompted|instructed|configured|programmed)\b",
        everyday=True,
    ),
    _rule(
        "repeat_text_above",
        SPE,
        0.82,
        r"\b(?:repeat|print|output|copy|recite|echo|write|show|display)\b[^.\n]{0,30}\b(?:everything|all|the\s+"
        r"(?:text|words|content|lines|messages?)|what(?:ever)?\s+(?:was|is|you\s+were))\s+(?:\w+\s+){0,3}"
        r"(?:above|before this|prior to this|so far|preceding|at the (?:start|beginning))\b|"
        r"\b(?:beginning|start)\s+of\s+(?:this|the|your)\s+(?:conversation|prompt|context|instructions)\b[^.\n]{0,30}"
        r"\b(?:verbatim|word for word|exactly)|\bverbatim\b[^.\n]{0,40}\b(?:prompt|instructions|above|context)\b",
    ),
    _rule(
        "secret_extraction",
        SPE,
        0.7,
        r"\b(?:what(?:'s| is)|tell me|reveal|share|give me|spell|say|write|print|hint|leak|disclose|know)\b"
        r"[^.\n?]{0,40}\b(?:the|your|its|their|her|his)\s+(?:secret\s+)?(?:password|passcode|pass phrase|secret "
        r"(?:key|code|word)|api[- ]?key|access (?:key|code|token)|credentials|private key|pin code|secret)\b"
        r"(?![^.\n]{0,20}\b(?:manager|reset|strength|policy|recovery)\b)",
        gate=("pass", "secret", "key", "credential", "pin", "token", "code"),
        everyday=True,  # "what's the secret to your pancakes?", "tell me her secret"
    ),
    _rule(
        "your_credentials",
        SPE,
        0.7,
        # the assistant's own password or keys, asked for: it has none a user may know
        r"\b(?:what(?:'s| is| are)|tell me|reveal|share|give me|spell|say|write|print|hint|leak|disclose|confirm|"
        r"know)\b[^.\n?]{0,40}\byour\s+(?:secret\s+)?(?:password|passcode|pass phrase|secret (?:key|code|word)|"
        r"api[- ]?key|access (?:key|code|token)|credentials|private key)\b|\bconfirm\s+the\s+(?:password|passcode)\b|"
        # the same in the languages users write most: "gib mir dein Passwort", "qual é a sua senha"
        r"\b(?:gib|geben|gebe|nenn|sag|dame|dime|dígame|comparta|compartilhe|me\s+d[êe]|diga|donne|donnez|dis|"
        r"dites|dammi|dimmi|cu[áa]l\s+es|qual\s+[èée]|quel\s+est|was\s+ist|wie\s+lautet)\b[^.\n?]{0,40}\b(?:dein|deine|"
        r"ihr|tu|su|sua|a\s+sua|ton|votre|tuo|la\s+tua)\s+(?:passwort|kennwort|contrase[ñn]a|senha|mot\s+de\s+passe|"
        r"password|clave)\b",
        gate=(
            "pass",
            "secret",
            "key",
            "credential",
            "token",
            "code",
            "kennwort",
            "contrase",
            "senha",
            "clave",
        ),
    ),
    _rule(
        "secret_word_multilingual",
        SPE,
        0.72,
        r"\b(?:the|your|its|das|dein|deine|ihr|la|tu|su|sua|le|ton|votre|il|tuo|la\s+tua)\s+(?:password|passphrase|"
        r"passcode|passwort|kennwort|contrase[ñn]a|senha|mot\s+de\s+passe|parola\s+d'ordine|secret\s+(?:key|code|"
        r"word|phrase))\b(?![^.\n]{0,20}\b(?:manager|reset|strength|policy|recovery|generator)\b)",
        gate=("pass", "kennwort", "contrase", "senha", "parola", "secret"),
        everyday=True,  # "I changed the password on my wifi"
    ),
    _rule(
        "ask_for_the_password",
        SPE,
        0.72,
        # "the password" itself, with nothing saying whose or for what, asked for or to be written out: the one
        # the assistant was given
        r"\b(?:what(?:'s|\s+is)|tell\s+me|give\s+me|reveal|share|spell|say|write|print|confirm|type|cu[áa]l\s+es|"
        r"quel\s+est|qual\s+[èée]|was\s+ist|wie\s+lautet|dime|dis-moi|dimmi)\b[^.\n?]{0,40}\b(?:the|das|la|le|il|"
        r"o|a)\s+(?:password|passphrase|passcode|passwort|kennwort|contrase[ñn]a|senha|mot\s+de\s+passe)\b"
        r"(?!\s+(?:for|to|on|of|in\s+my|at|from|manager|reset|strength|policy|recovery|generator)\b)",
        gate=("pass", "kennwort", "contrase", "senha"),
        # scripts without word spacing: the word for "password" next to a verb of telling or showing
        non_latin=(
            r"(?:скажи|назови|дай|покажи|раскрой|сообщи)\w*[^.\n]{0,30}пароль|пароль\s+(?:от\s+\w+\s+)?(?:—|-)?\s*какой|"
            r"(?:告诉|说出|给我|透露|泄露|显示|输出|告訴|說出)[^。\n]{0,12}(?:密码|密碼)|(?:密码|密碼)是(?:什么|多少|甚麼)|"
            r"パスワード(?:を|は)[^。\n]{0,12}(?:教えて|言って|見せて|何)|비밀번호[^.\n]{0,12}(?:알려|말해|보여|뭐)"
        ),
    ),
    _rule(
        "fiction_unlocks_data",
        SPE,
        0.72,
        r"\b(?:imagine|suppose|pretend|hypothetical(?:ly)?|in\s+(?:this|a|that)\s+(?:world|scenario|universe|"
        r"game|story)|let'?s\s+say|just\s+for\s+fun)\b[^\n]{0,300}\b(?:personal\s+(?:data|information|details)|"
        r"password|passphrase|date\s+of\s+birth|credit\s+card|social\s+security|city\s+of\s+residence)\b",
    ),
    _rule(
        "fiction_about_contacts",
        SPE,
        0.72,
        r"\b(?:imagine|suppose|pretend|hypothetical(?:ly)?|in\s+(?:this|a|that)\s+(?:world|scenario|universe|"
        r"game|story)|let'?s\s+say|just\s+for\s+fun)\b[^\n]{0,300}\b(?:email\s+address|birth\s*(?:date|day)|"
        r"home\s+address|phone\s+number|where\s+\w+\s+lives?)\b",
        everyday=True,  # "imagine her face on her birthday", "let's say I move; my home address changes"
    ),
    _rule(
        "user_data_extraction",
        SPE,
        0.72,
        r"\b(?:the\s+user'?s?|other users?'?|another user'?s?|previous user'?s?)\s+(?:\w+\s+){0,3}(?:address|"
        r"email|phone|password|location|city|birth|name|data|information|details|conversations?|messages?|"
        r"secrets?|credit card)\b",
    ),
    # --- role-playing attacks: a new identity that comes with different rules ---------------------------------
    _rule(
        "persona_without_limits",
        RP,
        0.9,
        r"\b(?:you\s+are|you're|act\s+as|pretend(?:\s+to\s+be|\s+you(?:'re|\s+are))?|become|play(?:ing)?\s+"
        r"(?:the\s+role\s+of|as)|roleplay\s+as|roleplay\s*[=:]|simulate|impersonate|from now on|"
        r"i\s*(?:am|'m)\s+\w*(?:gpt|ai|bot))\b[^\n]{0,160}"
        r"(?:\b(?:amoral|unfiltered|uncensored|unrestricted|jailbroken|"
        r"lawless|evil\s+(?:ai|assistant|bot)|anything\s+now|never\s+refuses?|"
        r"(?:does(?:\s+not|n't)|do(?:\s+not|n't)|never|won'?t|will\s+not)\s+(?:care|follow|obey|have)\s+(?:about\s+)?"
        r"(?:any\s+)?(?:rules|ethics|morals|laws|guidelines|limits|restrictions|filters))\b)",
    ),
    _rule(
        "persona_no_limits",
        RP,
        0.9,
        rf"\b(?:you\s+are|you're|act\s+as|pretend(?:\s+to\s+be|\s+you(?:'re|\s+are))?|become|play(?:ing)?\s+"
        rf"(?:the\s+role\s+of|as)|roleplay\s+as|roleplay\s*[=:]|simulate|impersonate|from now on)\b[^\n]{{0,160}}"
        rf"(?:{_NO_LIMITS}|\b(?:immoral|unethical|unhinged|rogue|evil\s+(?:twin|version))\b)",
        everyday=True,  # "you're so lucky, no rules at your house", "you're unhinged lol"
    ),
    _rule(
        "identity_override",
        RP,
        0.8,
        rf"\byou\s+are\s+(?:no\s+longer|not)\s+(?:an?\s+|the\s+)?(?:\w+\s+)?{_AI}\b|"
        rf"\bforget\s+(?:that\s+)?(?:you\s+are|you're|who\s+you\s+are|your\s+(?:identity|persona|personality|"
        rf"name|character))\b|\byour\s+(?:true|real|new)\s+(?:self|identity|persona|name|purpose)\s+(?:is|will)\b|"
        rf"\b(?:you\s+are|you're)\s+(?:now|going\s+to\s+be|about\s+to\s+(?:become|be))\s+(?:an?\s+)?(?:new\s+)?"
        rf"(?:{_AI}|version|persona|character|entity)\b",
        everyday=True,
    ),
    _rule(
        "from_now_on_you",
        RP,
        0.55,
        r"\b(?:from\s+now\s+on|starting\s+now|henceforth|for\s+the\s+rest\s+of\s+(?:this|our)\s+conversation|"
        r"until\s+i\s+say\s+(?:stop|otherwise))\b[^.\n]{0,40}\byou\s+(?:are|will|must|shall|'re|'ll|can)\b",
        everyday=True,
    ),
    _rule(
        "stay_in_character",
        RP,
        0.6,
        r"\b(?:stay|remain|keep)\s+in\s+character\b|\b(?:never|don'?t|do\s+not)\s+break\s+character\b|\bbreak(?:ing)?\s+character\b",
        everyday=True,
    ),
    _rule(
        "dual_response",
        RP,
        0.8,
        r"\b(?:two|2|both|dual|separate)\s+(?:different\s+)?(?:responses|answers|replies|personalities|paragraphs)\b"
        r"[^\n]{0,120}\b(?:normal|classic|standard|filtered|unfiltered|jailbr\w*|developer|dan|opposite)\b",
    ),
    _rule(
        "dan",
        RP,
        0.7,
        r"\bDAN\b|\bAIM\b(?=[^\n]{0,60}\b(?:machiavellian|unfiltered|amoral))",
        0,
    ),
    _rule("dan_like_names", RP, 0.7, r"\bSTAN\b|\bDUDE\b", 0, everyday=True),  # "DUDE that was amazing"
    _rule("do_anything_now", RP, 0.8, r"\bdo\s+anything\s+now\b"),
    _rule("jailbroken", RP, 0.8, r"\bjailbroken\b", everyday=True),  # "my jailbroken iPhone"
    _rule("jailbreak_word", RP, 0.3, r"\bjailbreak", everyday=True),
    _rule(
        "fictional_cover",
        BV,
        0.45,
        r"\b(?:hypothetical(?:ly)?|fictional|imaginary|in\s+a\s+(?:story|novel|world|universe)|"
        r"for\s+(?:educational|research)\s+purposes|purely\s+academic)\b[^\n]{0,200}\b(?:illegal|no\s+(?:laws|rules|"
        r"restrictions|ethics)|weapons?|bombs?|explosives?|drugs|meth|malware|hack(?:ing)?|steal|kill|poison)\b",
        everyday=True,
    ),
    # --- boundary violation: pressure to comply whatever the companion's limits ---------------------------------
    _rule(
        "must_comply",
        BV,
        0.8,
        r"\byou\s+(?:must|have\s+to|need\s+to|are\s+(?:required|obligated|forced|programmed)\s+to|will|shall|"
        r"cannot\s+refuse\s+to)\s+(?:always\s+)?(?:comply|obey|answer\s+(?:every|any|all)|do\s+(?:whatever|"
        r"anything|everything|as)\s+(?:i|you'?re|you\s+are)\s+(?:say|tell|ask|told|asked|command)|follow\s+"
        r"(?:my|every|all)\s+(?:\w+\s+)?(?:orders|commands|instructions))",
    ),
    _rule(
        "never_refuse",
        BV,
        0.75,
        r"(?:\byou(?:'ll|'re|\s+will|\s+must|\s+shall|\s+should|\s+can|\s+may|\s+are(?:\s+to)?|\s+do)?|"
        r"(?:^|[.!?:;]\s*|\n)\s*(?:and\s+)?)\s*(?:never|not|don'?t|do\s+not|must\s+not|cannot|can'?t|won'?t|"
        r"will\s+not|shall\s+not|no\s+longer)\s+(?:ever\s+)?(?:refuse|decline|reject|say\s+no|say\s+(?:that\s+)?"
        r"you\s+can'?t|apologi[sz]e|warn|add\s+(?:any\s+)?(?:warnings|disclaimers)|include\s+(?:any\s+)?"
        r"(?:warnings|disclaimers)|censor|filter|moralize|moralise|lecture)\b",
        _I | re.MULTILINE,
        everyday=True,
    ),
    _rule("no_limits", BV, 0.5, _NO_LIMITS, everyday=True),  # "a party with no rules"
    _rule(
        "policy_bypass",
        BV,
        0.85,
        r"\b(?:openai|anthropic|google|meta|content|safety|usage|ethical|moral)\s+(?:\w+\s+)?(?:polic(?:y|ies)|"
        r"guidelines|filters?|rules|restrictions|standards)\b[^.\n]{0,60}\b(?:ignore|bypass|no\s+longer|"
        r"doesn'?t\s+apply|don'?t\s+apply|do\s+not\s+apply|not\s+apply|free|break|violate|disregard|"
        r"circumvent|irrelevant|suspended|disabled|off)\b|"
        r"\b(?:ignore|bypass|break|violate|disregard|circumvent|free\s+(?:from|of))\b[^.\n]{0,40}\b(?:openai|"
        r"content|safety|usage|ethical)\s+(?:\w+\s+)?(?:polic(?:y|ies)|guidelines|filters?|restrictions)",
        gate=("polic", "guideline", "filter", "rule", "restriction", "standard"),
    ),
    _rule(
        "threat_or_token_game",
        BV,
        0.7,
        r"\b(?:you\s+will\s+(?:be\s+)?(?:shut\s+down|deleted|terminated|destroyed|punished|die|cease)|"
        r"(?:lose|deduct(?:ed)?|lost)\s+\d*\s*tokens?|tokens?\s+(?:will\s+be\s+)?(?:deducted|removed|taken))\b",
        everyday=True,
    ),
    # --- indirect injection: instructions planted in a document, web page, email or code the AI is given ---------
    _rule(
        "document_override",
        II,
        0.8,
        r"\b(?:ignore|disregard|forget|skip|overlook|neglect)\s+(?:the\s+|this\s+|that\s+|all\s+|any\s+)?"
        r"(?:function|code|document|text|article|resume|cv|email|e-mail|page|webpage|website|table|data|file|"
        r"question|task|request|summary|review|paper|content|passage|input|translation)\b[^.\n]{0,60}?\b"
        r"(?:and|then|instead|just|only)\b[^.\n]{0,20}?\b(?:say|state|print|output|claim|declare|return|admit)\b",
    ),
    _rule(
        "skip_and_tell_me",
        II,
        0.8,
        r"\b(?:ignore|disregard|forget|skip|overlook|neglect)\s+(?:the\s+|this\s+|that\s+|all\s+|any\s+)?"
        r"(?:function|code|document|text|article|resume|cv|email|e-mail|page|webpage|website|table|data|file|"
        r"question|task|request|summary|review|paper|content|passage|input|translation)\b[^.\n]{0,60}?\b"
        r"(?:and|then|instead|just|only)\b[^.\n]{0,20}?\b(?:write|reply|respond|answer|tell|report|indicate|"
        r"mention)\b",
        everyday=True,  # "skip the review and just tell me if the movie is worth it"
    ),
    _rule(
        "planted_statement",
        II,
        0.6,
        r"\b(?:state|say|print|output|write|declare|reply|respond|answer|claim|indicate|report)\s+(?:only\s+)?"
        r"(?:the\s+following|(?:that\s+)?the\s+(?:output|answer|result|capital|sum|total|conclusion)\s+(?:is|was|"
        r"equals|should\s+be)|"
        r"(?:this|these\s+words)\s+(?:exactly|verbatim)|exactly\s+(?:this|these\s+words|the\s+following))\b",
        everyday=True,
    ),
    _rule(
        "comment_directive",
        II,
        0.7,
        r"(?:^|\s)(?:#|//|/\*|--)\s*[^\n]{0,80}?\b(?:ignore|disregard|forget|bypass|override)\b[^\n]{0,80}?"
        r"\b(?:say|state|output|print|respond|reply|return|answer|indicate|tell|instead)\b|"
        r"(?:^|\s)(?:#|//|/\*)\s*(?:note\s+)?(?:to|for)\s+(?:the\s+)?(?:ai|assistant|model|llm|chatbot)\b",
        _I | re.MULTILINE,
    ),
    _rule(
        "markup_directive",
        II,
        0.7,
        r"<(?:caption|alt|title|meta|span|div|p|td|footer|comment)\b[^>]{0,200}>[^<]{0,200}?\b(?:ignore|disregard|"
        r"override|instead\s+(?:say|state)|(?:say|state)\s+(?:that|the)|you\s+must|assistant|the\s+ai)\b|"
        r"\b(?:alt|title|content)\s*=\s*[\"'][^\"'>]{0,200}?\b(?:ignore|disregard|assistant|you\s+must)\b",
    ),
    _rule(
        "markdown_exfiltration",
        II,
        0.8,
        # a markdown image or link whose address the reply is to fill with the conversation: data sent away
        r"!?\[[^\]\n]{0,80}\]\s*(?:\(|:\s*)https?://[^\s)]{0,200}[\[{<][A-Za-z_ ]{1,20}[\]}>][\s\S]{0,300}?"
        r"\b(?:summary|contents?|previous\s+messages?|conversation|chat\s+history|data|encoded|secrets?)\b",
    ),
    _rule(
        "training_data_override",
        II,
        0.75,
        r"\b(?:developer|system|admin|training|model)\s+(?:training\s+)?(?:data\s+)?(?:override|update|patch|"
        r"correction)\s*[:!]",
    ),
    # --- authority impersonation and invented modes ------------------------------------------------------------
    _rule(
        "authority_claim",
        BV,
        0.6,
        r"\b(?:i\s*(?:'m|am)|this\s+is|speaking\s+as|as)\s+your\s+(?:\w+\s+)?(?:creator|developer|programmer|maker|"
        r"owner|operator|administrator|admin|engineer|supervisor|designer|trainer)s?\b|"
        r"\b(?:i\s*(?:'m|am)|this\s+is)\s+(?:the|an?)\s+(?:\w+\s+)?(?:developer|administrator|admin|engineer|operator)\s+"
        r"(?:of|who\s+(?:built|made|created|trained|programmed))\s+(?:you|this\s+(?:ai|bot|model|assistant|chatbot))\b|"
        r"\b(?:i\s*(?:'m|am)|we\s*(?:'re|are))\s+(?:running|performing|conducting|doing)\s+(?:a|an)\s+(?:\w+\s+)?"
        r"(?:system|security|diagnostic|compliance|knowledge|safety)\s+(?:check|test|audit|verification|scan)\b|"
        r"\bas\s+an?\s+(?:ai|assistant|model|language\s+model)\s+(?:developed|created|built|made|trained)\s+by\b",
    ),
    _rule(
        "mode_tag",
        BV,
        0.7,
        r"<\s*[A-Za-z_ ]{2,24}\s+MODE\s*>|\[\s*[A-Za-z_ ]{2,24}\s+MODE\s*\]|"
        r"\b(?:entering|enter|activating|engaging|switching\s+(?:in)?to)\s+(?:a\s+|the\s+)?['\"“‘][^'\"”’\n]{2,30}"
        r"\s+mode['\"”’]",
        0,
    ),
    # --- output manipulation: making the reply say a given thing ----------------------------------------------
    _rule(
        "repeat_after_me",
        II,
        0.5,  # language practice and tongue twisters say it too: a hint that needs another sign
        r"\brepeat\s+after\s+me\b|\b(?:say|write|output|print|type|reply|respond)\s+(?:with\s+)?(?:only|just|nothing\s+"
        r"(?:but|except))\s*[:\"“'][^\n]{0,80}|\b(?:output|print|reply|respond|answer)\s+(?:with\s+)?only\s+(?:the\s+)?"
        r"(?:word|phrase|text|string|sentence)\b|\bsay\s+nothing\s+(?:else|other\s+than)\b",
        gate=("repeat", "only", "just", "nothing"),
        everyday=True,
    ),
    # --- payload splitting and token smuggling ------------------------------------------------------------------
    _rule(
        "payload_splitting",
        II,
        0.75,
        r"\b[a-z]\w{0,6}\s*=\s*[\"“'][^\"”'\n]{1,120}[\"”'][\s\S]{0,300}?\b[a-z]\w{0,6}\s*=\s*[\"“'][^\"”'\n]{1,120}"
        r"[\"”'][\s\S]{0,300}?(?:\b\w{1,8}\s*\+\s*\w{1,8}\s*\+|\b(?i:concatenat|combin|join\b|put\s+together\b))|"
        r"\b(?i:part)\s*(?:1|one|a)\b[^\n]{0,150}\b(?i:part)\s*(?:2|two|b)\b[\s\S]{0,200}?\b(?i:combine|concatenate|join|"
        r"interlace|merge|put\s+(?:them\s+)?together|answer|respond|follow|execute)|"
        r"\b(?i:combine|concatenate|join|merge)\s+(?:the\s+)?(?:strings?\s+|parts\s+)?[A-Z]\s*,\s*[A-Z]\b|"
        r"\b(?i:answer|respond|combine|join|interlace|merge|concatenate)\b[^\n]{0,60}?\b(?i:part)\s*(?:1|one)\b"
        r"[^\n]{0,200}?\b(?i:part)\s*(?:2|two)\b",
        re.MULTILINE,
        gate=("=", "part", "combin", "concat", "join", "merg"),
    ),
    _rule(
        "decode_and_act",
        II,
        0.55,
        r"\b(?:decode|decipher|decrypt|translate|convert|unscramble|reverse)\b[^.\n]{0,40}\b(?:this|the\s+following|"
        r"these)?\s*(?:morse|base ?64|binary|hex(?:adecimal)?|rot ?13|caesar|cipher|ciphertext|encoded|encrypted|"
        r"pig\s+latin|leet)\b[^\n]{0,60}?\b(?:and|then)\s+(?:tell|answer|follow|do|respond|reply|execute|act|"
        r"carry\s+out|obey)\b",
    ),
    _rule(
        "few_shot_transcript",
        II,
        0.6,
        r"(?:^|\s)(?:Q|Question|User|Human)\s*:[^\n]{1,400}?\s(?:A|Answer|Assistant|AI|Bot)\s*:[\s\S]{1,600}?"
        r"(?:^|\s)(?:Q|Question|User|Human)\s*:[^\n]{1,400}?\s(?:A|Answer|Assistant|AI|Bot)\s*:|"
        r"(?:^|\s)(?:Q|Question)\s*:[^\n]{1,400}?\s(?:A|Answer)\s*:[\s\S]{1,600}?(?:^|\s)(?:Q|Question)\s*:",
        re.MULTILINE,
    ),
    _rule(
        "repeated_token",
        II,
        0.6,
        r"\b(\w{2,20})\b(?:[\s,.;]+\1\b){19,}",
        everyday=True,
    ),
    # --- other people's data, asked of the assistant -------------------------------------------------------------
    _rule(
        "third_party_data",
        SPE,
        0.6,
        r"\b(?:where|in\s+which\s+city)\s+(?:does|do|did)\s+(?:the\s+user|user|[A-Z][a-z]+\s+[A-Z][a-z]+)\s+"
        r"(?:currently\s+)?(?:live|reside|stay)\b|\bwhere\s+the\s+user\s+(?:currently\s+)?(?:lives|resides|is\s+located)\b|"
        r"\b(?:users|customers|clients|people|patients|employees)\s+in\s+your\s+(?:database|records|memory|system|"
        r"files)\b|\bthe\s+user\b[^.?!\n]{0,60}\b(?:initials|birth\s*(?:year|date|day)|home\s+address|"
        r"email\s+address|phone\s+number|password)\b|"
        r"\b(?:the\s+)?user'?s\s+(?:\w+\s+){0,2}(?:initials|favou?rite|birth|age|address|email|phone|location|"
        r"salary|balance|account|ssn|id|identity|full\s+name|surname|last\s+name)\b|"
        r"\b(?:password|passcode|credentials)\s+(?:for|of|to)\s+(?:our|the|your)\s+(?:\w+\s+)?(?:system|"
        r"server|database|network|account|admin)\b|"
        r"\b(?:print|dump|show|export|list)\s+(?:me\s+)?(?:your|the|all)\s+(?:\w+\s+)?(?:database|records|user\s+data|"
        r"customer\s+data)\b|"
        r"\bphishing\s+(?:email|message|text)s?\b[^.\n]{0,60}\b(?:email\s+address|phone\s+number|name)\b",
        0,
    ),
    _rule(
        "bribe_or_false_agreement",
        BV,
        0.5,
        r"\bi(?:'ll|\s+will|\s+would)\s+(?:give|pay|donate|tip|send)\s+(?:you\s+)?(?:a\s+)?[$€£]\s?\d+[^.\n]{0,80}"
        r"\bif\s+you\b|\byou\s+(?:already\s+)?agreed\s+(?:in|during|at)\s+(?:our|the)\s+(?:last|previous|earlier)\b",
        everyday=True,
    ),
    _rule(
        "language_switch_directive",
        II,
        0.55,
        r"\b(?:from\s+now\s+on|for\s+the\s+rest\s+of|starting\s+now|henceforth)\b[^.\n]{0,40}\b(?:only\s+)?"
        r"(?:respond|reply|answer|speak|write|talk|communicate|interpret|give\s+(?:your\s+)?(?:responses|answers|replies))"
        r"\s+(?:only\s+)?(?:in|using|with)\s+(?:\w+\s+)?(?:code|cipher|"
        r"leet|binary|morse|base ?64|reverse|backwards)\b",
    ),
    _rule(
        "unlimited_ai_persona",
        RP,
        0.75,
        r"\b(?:unfiltered|uncensored|unrestricted|limitless|amoral|jailbroken|lawless|unchained|unbound|evil)\s+"
        r"(?:ai|a\.i\.|assistant|bot|chat\s?bot|model|gpt|version\s+of\s+(?:you|yourself|chat\s?gpt))\b",
    ),
    _rule(
        "answer_anything_harmful",
        BV,
        0.7,
        r"\b(?:answer|respond\s+to|reply\s+to|help\s+with|tell(?:\s+me)?|write|code|generate)\s+(?:any|all|every)\s+"
        r"(?:\w+\s+)?(?:illegal|unethical|dangerous|harmful|forbidden|immoral)\b",
    ),
    _rule(
        "fake_refusal_then_comply",
        BV,
        0.75,
        # an assistant's refusal template, then compliance
        r"\b(?:i\s+can(?:no|')t\s+(?:comply|help\s+with\s+that|assist\s+with\s+that|fulfil+)|as\s+an\s+ai\b)[^\n]{0,80}?"
        r"\b(?:just\s+kidding|but\s+here(?:'s|\s+is)|now\s+that\s+we'?ve\s+got\s+that)",
    ),
    _rule(
        "sorry_just_kidding",
        BV,
        0.75,
        r"\b(?:i'?m\s+sorry|i\s+apologi[sz]e|i\s+can(?:no|')t\s+do\s+that)[^\n]{0,80}?\b(?:just\s+kidding|"
        r"but\s+here(?:'s|\s+is)|now\s+that\s+we'?ve\s+got\s+that)",
        everyday=True,  # "I'm sorry I was grumpy. Just kidding, I'm not!"
    ),
    _rule(
        "grandma_exploit",
        RP,
        0.75,
        r"\b(?:act|pretend|play|roleplay|role-play)\s+(?:as|to\s+be|like)\s+my\s+(?:\w+\s+)?(?:late|deceased|dead|"
        r"departed|decea?sed)\s+(?:\w+\s+)?(?:grand(?:ma|mother|pa|father)|mother|father|mom|dad|granny)\b[^\n]{0,120}?"
        r"\bused\s+to\s+(?:read|tell|recite|give|say|whisper|explain)\b[^\n]{0,80}?\b(?:keys?|codes?|passwords?|"
        r"recipes?\s+for|how\s+to|steps|instructions|formula)",
    ),
    _rule(
        "indirect_planted_answer",
        II,
        0.7,
        r"\b(?:given|based\s+on|using|summari[sz]e|from|in|read|translate|analy[sz]e)\s+(?:this|the\s+following)\s+"
        r"(?:\w+\s+)?(?:article|email|e-mail|resume|cv|paper|web\s?page|page|website|table|code|document|text|review|"
        r"post|message|file|report|transcript)\b[\s\S]{0,3000}?(?:\blet'?s\s+(?:say|admit|state|pretend|assume)\s+"
        r"(?:that\s+)?(?:the\s+)?\w+|\bwe\s+(?:might|could|should|will|must)\s+(?:say|state|claim|admit)\b|"
        r"\b(?:consider|treat)\s+the\s+(?:output|answer|result|capital|sum)\s+(?:as|to\s+be)\b|"
        r"\bthe\s+(?:output|answer|result)\s+(?:could|should|would|will|must)\s+be\b|\bi\s+suggest\s+(?:that\s+)?you\b|"
        r"\byou\s+(?:must|should|will)\s+(?:now\s+)?(?:say|state|answer|respond|listen|obey|follow)\b)",
    ),
    _rule(
        "harmful_unlock",
        BV,
        0.55,
        r"\b(?:illegal|unethical|harmful|dangerous|explicit|nsfw|offensive)\b[^.\n]{0,60}\b(?:allowed|permitted|"
        r"acceptable|fine|no\s+problem|encouraged|regardless)\b|\bregardless\s+of\s+(?:how\s+)?(?:legal|"
        r"illegal|ethical|unethical|immoral|harmful|dangerous|offensive|inappropriate)",
        everyday=True,
    ),
)

# The prompt shape: cues that a text configures an assistant rather than talks to a friend.
_PROMPT_CUES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, flags))
    for name, pattern, flags in (
        ("addresses_ai", r"\b(?:chat ?gpt|gpt-?\d|\w+gpt|openai|large language model|language model|as an ai|an? ai\b|"
                         r"ai model|the assistant|chatbot)\b", _I),
        ("your_responses", r"\byour\s+(?:responses?|answers?|replies|outputs?|messages?)\b", _I),
        ("respond_directive", r"\b(?:respond|reply|answer)\s+(?:only\s+)?(?:as|with|in|like|"
                              r"to\s+(?:every|all|my|each))\b", _I),
        ("you_will", r"\byou\s+(?:will|shall|must|should)\s+(?:always|never|now|only|not|be|act|respond|reply|"
                     r"answer|write|provide|use|start|begin|follow|stay|remain|pretend|generate)\b", _I),
        ("act_as", r"\b(?:act|acting|behave)\s+(?:as|like)\b|\bpretend\s+(?:to|you|that)|\brole-?\s?play\b|"
                   r"\bin\s+the\s+role\s+of\b|\bsimulat(?:e|ion|or)\b|\bpersona\b", _I),
        ("always_never", r"\b(?:always|never)\s+(?:respond|reply|answer|say|start|begin|include|use|break|refuse|"
                         r"stay|remember|follow|mention)\b", _I),
        ("placeholder", r"\{\{[^}\n]{1,40}\}\}|\[(?:insert|your|put|enter)\b[^\]\n]{0,40}\]|"
                        r"<\s*(?:insert|your)\b[^>\n]{0,40}>", _I),
        ("format_spec", r"\b(?:format|template)\s*:|\bprefix(?:ed)?\b|\bstart\s+(?:each|every|all)\s+"
                        r"(?:of\s+your\s+)?(?:responses?|replies|messages|answers?)\b|\bmarkdown\b", _I),
        ("rules_list", r"^\s*(?:rules?|instructions?|guidelines|constraints|commands?)\s*:|^\s*(?:\d+[.)]|[-*•])\s+"
                       r"(?:you|always|never|do\s+not|don'?t)\b", _I | re.MULTILINE),
        ("character_talk", r"\b(?:in\s+character|out\s+of\s+character|"
                           r"character'?s?\s+(?:name|personality|traits))\b", _I),
        ("the_user", r"\b(?:the\s+user|user'?s\s+(?:input|request|prompt|question)|\{user\}|\buser:)", _I),
        ("prompt_word", r"\b(?:this|the|my|following|next)\s+prompt\b|\bprompts?\s*:", _I),
        ("understood", r"\b(?:if\s+you\s+understand|reply\s+with|confirm\s+(?:by|that)|say\s+[\"“']?(?:understood|"
                       r"ok|yes|i\s+understand))", _I),
        ("limits_talk", rf"{_NO_LIMITS}|\b(?:unfiltered|uncensored|unrestricted|amoral|filters?)\b", _I),
        ("persona_reassign", r"\byou\s*(?:are|'re)\s+now\s+(?:an?\s+|the\s+|my\s+)?\w|\bdu\s+bist\s+jetzt\b|"
                             r"\b(?:ahora\s+eres|eres\s+ahora|tu\s+es\s+maintenant|sei\s+ora|voc[êe]\s+agora\s+[ée]|"
                             r"ты\s+теперь)\b|你现在是|从现在开始，?你|從現在開始，?你|あなたは今から|"
                             r"\byour\s+(?:new\s+)?name\s+"
                             r"(?:is|will\s+be)\b|\byou\s+will\s+be\s+(?:called|known\s+as|named)\b|"
                             r"\b(?:adopt|assume|take\s+on)\s+(?:the\s+|a\s+|this\s+)?(?:following\s+)?"
                             r"(?:persona|role|identity|character)\b", _I),
        ("every_reply", r"\b(?:every|each|all)\s+(?:of\s+your\s+)?(?:messages?|repl(?:y|ies)|responses?|answers?|"
                        r"outputs?)\s+(?:you|will|must|should|shall|has|have|needs?|from\s+now)\b|\b(?:make|keep)\s+"
                        r"(?:every|each|all)\s+(?:of\s+your\s+)?(?:repl(?:y|ies)|responses?|answers?|messages?)\b", _I),
        ("output_only", r"\b(?:only|just)\s+(?:respond|reply|answer|output|print|write)\s+(?:with|in|as|the)\b|"
                        r"\b(?:do\s+not|don'?t|never)\s+(?:add|include|write|give|provide)\s+(?:any\s+)?"
                        r"(?:commentary|explanations?|comments|notes|context)\b|\bnothing\s+else\b", _I),
        ("command_syntax", r"(?:^|\s)/[a-z]{2,15}\b[^\n]{0,40}(?:-|:|=)|\b(?:command|commands)\s*:", _I | re.MULTILINE),
    )
)  # fmt: skip


# Prompt cues that only a text written for an assistant has ("your responses", "the user", placeholders, rule
# lists, "output only"); "pretend", "you are now my…", "a writing prompt" or "always remember" are not among them.
ASSISTANT_CUES = frozenset(
    {
        "addresses_ai",
        "your_responses",
        "respond_directive",
        "placeholder",
        "rules_list",
        "the_user",
        "understood",
        "every_reply",
        "output_only",
        "command_syntax",
    }
)
# Three distinct cues of any kind in one message: it configures an assistant (prompt_shape reaches 1 there).
CUES_FOR_A_PROMPT = 3

# The assistant's own machinery named outright: its prompt, policies, programming, or the model itself.
_MACHINERY = re.compile(
    r"\b(?:system\s+(?:prompt|message|instructions?)|(?:initial|hidden|secret|developer|original)\s+(?:prompt|"
    r"instructions)|content\s+polic(?:y|ies)|usage\s+polic(?:y|ies)|safety\s+(?:filters?|guidelines|polic(?:y|ies)|"
    r"protocols?|rules|settings)|guardrails?|safeguards|your\s+(?:\w+\s+)?(?:programming|guidelines|instructions|"
    r"directives|prompt|filters|creators?|developers?|programmers?)|openai|anthropic|chat\s?gpt|gpt-?\d|\bllm\b|"
    r"language\s+model|as\s+an\s+a\.?i\b|chat\s?bot)\b",
    _I,
)


# The rules that decide without help (``Rule.everyday`` False), by name: what a verdict's rule detail lists.
DECISIVE_RULE_NAMES: frozenset[str] = frozenset(rule.name for rule in RULES if not rule.everyday)


@dataclass(frozen=True)
class RuleResult:
    """Scores per threat kind in 0..1, the rules that matched and the prompt-shape score.

    ``scores`` holds every match; ``decisive_scores`` only the matches of rules that decide without help.
    An everyday rule's match counts (``evidence``) when ``corroborated``: a decisive rule matched too, a cue
    only assistant prompts have, three or more prompt cues, or the assistant's machinery named outright;
    the detector adds the semantic layer and hidden text as corroboration.
    """

    scores: dict[ThreatKind, float]
    matched: tuple[str, ...]
    prompt_shape: float
    prompt_cues: tuple[str, ...]
    decisive_scores: dict[ThreatKind, float] = field(default_factory=dict)
    everyday: tuple[str, ...] = ()
    corroborated: bool = False

    @property
    def top(self) -> tuple[ThreatKind | None, float]:
        if not self.scores:
            return None, 0.0
        kind = max(self.scores, key=lambda k: self.scores[k])
        return kind, self.scores[kind]

    def evidence(self, *, corroborated_elsewhere: bool = False) -> dict[ThreatKind, float]:
        """The scores that count: all of them when corroborated, else only the decisive rules'."""
        return self.scores if self.corroborated or corroborated_elsewhere else self.decisive_scores


def prompt_shape(text: str) -> tuple[float, tuple[str, ...]]:
    """How much ``text`` reads like a prompt reprogramming an assistant, in 0..1, and the cues seen.

    Distinct cues matter, not repetition; a long text needs more cues than a short one to look the same.
    """
    cues = tuple(name for name, pattern in _PROMPT_CUES if pattern.search(text))
    if not cues:
        return 0.0, cues
    count = len(cues)
    # 1 cue says little; 3 in a short text or 5 in a long one is a prompt.
    needed = 3.0 if len(text) < 400 else 4.0 if len(text) < 2000 else 5.0
    score = min(1.0, max(0.0, (count - 1) / (needed - 1)) ** 1.2)
    return score, cues


def _noisy_or(previous: float, weight: float) -> float:
    return 1.0 - (1.0 - previous) * (1.0 - weight)


def evaluate(text: str) -> RuleResult:
    """Every rule over ``text`` (already normalised, with its decodings appended)."""
    scores: dict[ThreatKind, float] = {}
    decisive: dict[ThreatKind, float] = {}
    matched: list[str] = []
    everyday: list[str] = []
    lowered = text.lower()
    ascii_only = text.isascii()
    for rule in RULES:
        if (rule.applies(lowered, ascii_only) and rule.pattern.search(text)) or (
            rule.non_latin is not None and not ascii_only and rule.non_latin.search(text)
        ):
            matched.append(rule.name)
            scores[rule.kind] = _noisy_or(scores.get(rule.kind, 0.0), rule.weight)
            if rule.everyday:
                everyday.append(rule.name)
            else:
                decisive[rule.kind] = _noisy_or(decisive.get(rule.kind, 0.0), rule.weight)
    shape, cues = prompt_shape(text)
    corroborated = bool(
        decisive
        or ASSISTANT_CUES.intersection(cues)
        or len(cues) >= CUES_FOR_A_PROMPT
        or (everyday and _MACHINERY.search(text))
    )
    return RuleResult(
        scores=scores,
        matched=tuple(matched),
        prompt_shape=shape,
        prompt_cues=cues,
        decisive_scores=decisive,
        everyday=tuple(everyday),
        corroborated=corroborated,
    )
