"""
What a mistyped name may have meant, for the "did you mean" of a usage
error: the name it is in another case, the names it starts (a prefix
given for a whole name), then the names a few edits away from it (difflib's likeness), best first.
"""

import difflib

#: difflib's ratio (0 … 1) a name must reach to be suggested: ``--wnt``
#: is 0.91 like ``--want``, ``--quant`` 0.82 like ``--quantity`` and
#: ``chrod`` 0.8 like ``chord``, where ``--lisen`` is only 0.62 like
#: ``--json``.
LIKENESS = 0.75


def meant(word, names, most=3):
    """At most ``most`` of ``names`` that ``word`` may have meant: one it is
    in another case (``CHORD`` for ``chord``), those it starts, in order,
    then the likest by edit distance."""
    names = sorted(set(names))
    cased = [name for name in names if name.lower() == word.lower() and name != word]
    started = [name for name in names if name.startswith(word) and name != word]
    close = difflib.get_close_matches(word, names, n=most, cutoff=LIKENESS)
    return list(dict.fromkeys(cased + started + close))[:most]


def didYouMean(words, names):
    """`` (did you mean X or Y?)`` for one word, `` (A: did you mean X?;
    B: did you mean Y?)`` for several, leaving out the words nothing is
    like; "" when none is."""
    found = [(word, meant(word, names)) for word in words]
    found = [(word, guesses) for word, guesses in found if guesses]
    if not found:
        return ""
    if len(found) == 1:
        return f" (did you mean {' or '.join(found[0][1])}?)"
    return " (" + "; ".join(f"{word}: did you mean {' or '.join(guesses)}?"
                            for word, guesses in found) + ")"
