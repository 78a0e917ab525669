"""Key phrases: multi-word noun phrases (and proper nouns) that a text keeps coming back to.

Candidates are RAKE's (Rose et al., 2010): runs of content words between stopwords, with
verbs and adverbs also breaking a run so that a phrase is noun-ish ("regional grant", not
"regional grant paid"). They are ranked by how often they recur, then by RAKE's
degree/frequency score.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

from bureau.agents._text import STOPWORDS, words

MAX_PHRASE_WORDS = 3
# words that say nothing on their own, nor together ("key results", "main data")
GENERIC = frozenset(
    "data result thing way lot part time kind type example number issue point case fact "
    "area level aspect information item stuff people year key main important good various "
    "different several overall general specific certain next last item value".split()
)
# common verbs (with their -s/-ed forms) and adverbs: they end a noun phrase, never join one
_VERB_BASES = """add agree allow appear ask assign become begin believe bring build buy call
    check choose claim come consider consume continue cover create cut decide deliver draft
    end exceed expect explain extend fall feel find fix follow form generate get give go grow
    happen hear help hold include insist keep know lead learn leave let lie like live look
    lose lower match mean meet move offer open pass pay provide publish put raise reach read
    recommend reduce remain remember repair replace require reverse rise run say see seem
    sell send serve set shift show sit speak spend stand start stay stop suggest take talk
    tell think try turn understand vote wait walk want watch win wish need make have cause
    produce
    subsidise subsidize reward save drive improve ensure enable manage receive operate""".split()
_IRREGULAR = """began became bought brought came chose did done drew fell felt found gave
    given got gone grew held kept knew known led left lost made met paid ran rose said saw
    seen sent set sold spent stood took taken thought told understood went won wrote written
    is are was were been""".split()
_ADVERBS = "still instead longer later already soon almost never always briefly".split()


def _inflections(base: str) -> set[str]:
    stem = base[:-1] if base.endswith("e") else base
    plural = base + ("es" if base.endswith(("s", "sh", "ch", "x")) else "s")
    past = base[:-1] + "ied" if base.endswith("y") and base[-2] not in "aeiou" else stem + "ed"
    return {base, plural, past}


VERBS = frozenset(w for base in _VERB_BASES for w in _inflections(base)) | set(_IRREGULAR)
NOT_NOUNS = VERBS | frozenset(_ADVERBS)


def _is_phrase_word(word: str) -> bool:
    return (
        bool(word)
        and word not in STOPWORDS
        and word not in NOT_NOUNS
        and not word.isdigit()
        and len(word) > 1
        and not (word.endswith("ly") and len(word) > 4)
    )


def _runs(text: str) -> list[list[str]]:
    """Runs of content words between stopwords and punctuation."""
    runs: list[list[str]] = []
    for chunk in re.split(r"[^\w\s'\u2019-]|\s[-\u2013\u2014]\s", text.lower()):
        run: list[str] = []
        for word in [*words(chunk), ""]:
            if _is_phrase_word(word):
                run.append(word)
            else:
                if run:
                    runs.append(run)
                run = []
    return runs


def _fold(word: str) -> str:
    """Plurals folded onto the singular ("pumps" -> "pump"), nothing more."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _overlaps(key: tuple[str, ...], better: tuple[str, ...]) -> bool:
    """True when `key` contains `better` or shares more than half its words with it."""
    shared = len(set(key) & set(better))
    return shared == len(better) or 2 * shared > len(key)


def _is_generic(key: tuple[str, ...]) -> bool:
    return all(word in GENERIC for word in key)


def key_phrases(texts: list[str], limit: int, names: frozenset[str] = frozenset()) -> list[str]:
    """Up to `limit` key phrases, best first, none repeating a better one.

    Candidates are the last 1-3 words of each run of content words (English puts a noun
    phrase's head last: "larger heat pump" yields "heat pump", never "larger heat"),
    counted across texts with plurals folded ("heat pump" = "heat pumps"). Recurring
    phrases rank by count times length^1.5 (a recurring pair beats its words alone);
    one-off phrases follow, ranked RAKE-style by word degree over frequency. A key phrase
    has two words or more (lowercase) unless it is one of `names` (proper nouns, as
    written): a single common word ("data", "costs") says too little, and phrases of
    generic words only ("key results") are dropped.
    """
    proper = {_fold(name.lower()): name for name in names}
    counts: Counter[tuple[str, ...]] = Counter()
    surfaces: dict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
    whole_runs: Counter[tuple[str, ...]] = Counter()
    frequency: Counter[str] = Counter()
    for text in texts:
        for run in _runs(text):
            stems = tuple(_fold(w) for w in run)
            whole_runs[stems] += 1
            frequency.update(stems)
            for n in range(1, min(MAX_PHRASE_WORDS, len(run)) + 1):
                counts[stems[-n:]] += 1
                surfaces[stems[-n:]][" ".join(run[-n:])] += 1
    degree: Counter[str] = Counter()
    for stems, n in whole_runs.items():
        for word in stems:
            degree[word] += n * len(stems)

    def rating(key: tuple[str, ...]) -> tuple[float, float]:
        rake = sum(degree[w] / frequency[w] for w in key)
        recurring = counts[key] * len(key) ** 1.5 if counts[key] > 1 else 0.0
        return (recurring, rake)

    ranked = sorted(counts, key=lambda k: (*(-r for r in rating(k)), k))
    picked: list[tuple[str, ...]] = []
    for key in ranked:
        if len(picked) == limit:
            break
        if (len(key) == 1 and key[0] not in proper) or _is_generic(key):
            continue
        if any(_overlaps(key, better) for better in picked):
            continue
        picked.append(key)
    return [
        proper[key[0]] if len(key) == 1 else surfaces[key].most_common(1)[0][0] for key in picked
    ]
