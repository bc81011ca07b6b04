"""Counts in a user's words: ``1 unit``, ``2 units``; ``apple x2``; ``39 s``;
``fig, pear and 40 more``."""


def plural(count, word, many=None):
    """``count`` and ``word``, in the plural unless count is 1 (``many``:
    the plural, when it is not word + s)."""
    return f"{count} {word if count == 1 else many or word + 's'}"


def counted(item, units):
    """Units of an item, its name kept verbatim (``apple x2``: an item's
    name is not an English noun to put in the plural); one unit is the
    item alone."""
    return item if units == 1 else f"{item} x{units}"


def roundSeconds(seconds):
    """Seconds as a person reads them: tenths under 10 s, whole seconds
    above (a clock's difference, 39.4375, is 39)."""
    return f"{seconds:.1f}" if seconds < 10 else f"{seconds:.0f}"


def namedFew(names, most):
    """names as a list a person reads (``fig``, ``fig and pear``, ``fig,
    kiwi and pear``), past ``most`` the first ``most`` of them and how many
    more (``fig, kiwi and 40 more``; never ``and 1 more``, which the name
    says as shortly): one line, however many."""
    names = list(names)
    if len(names) > most + 1:
        return f"{', '.join(names[:most])} and {len(names) - most} more"
    return " and ".join(filter(None, (", ".join(names[:-1]), names[-1])))
