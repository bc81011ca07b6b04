"""
Daemon options given by their whole names.  Twisted's option parser
reads long options with ``getopt``, which takes any prefix that starts
one option alone for that option: ``--sel apple=3`` would sell apples as
``--sell``, and a typo of a flag could turn on another.  The daemons
refuse that, as the ``bazaar`` command does, and name the option a
typo a few letters off may have meant (L{twisted_bazaar.base.suggest}).
"""

from twisted.python import usage

from twisted_bazaar.base.suggest import meant


def refuseAbbreviations(args, shortOpt, longOpt):
    """
    Look through a command line as ``getopt.getopt`` reads it (options up
    to the first word that is none, or ``--``), with these options
    (``getopt``'s short-option string and long-option list).

    @raise usage.UsageError: naming the option meant, for a long option
        given by a prefix of its name.
    """
    takesValue = {opt[:-1] for opt in longOpt if opt.endswith("=")}
    names = takesValue | {opt for opt in longOpt if not opt.endswith("=")}
    words = iter(args)
    for word in words:
        if word == "--" or not word.startswith("-") or word == "-":
            return
        if word.startswith("--"):
            name, given, _ = word[2:].partition("=")
            if name in names:
                if name in takesValue and not given:
                    next(words, None)
                continue
            started = sorted(each for each in names if each.startswith(name))
            if started:
                raise usage.UsageError(
                    f"unknown option --{name}: an option is given by its whole name "
                    f"(did you mean {' or '.join('--' + each for each in started[:3])}?)")
            close = meant(name, names)
            if close:
                raise usage.UsageError(
                    f"unknown option --{name} (did you mean "
                    f"{' or '.join('--' + each for each in close)}?)")
            # Unknown altogether, and like no option: getopt says so.
            return
        # Short options, one or more in a word: one that takes a value
        # takes the rest of the word, or else the next word.
        cluster = word[1:]
        for index, letter in enumerate(cluster):
            if letter + ":" in shortOpt:
                if index == len(cluster) - 1:
                    next(words, None)
                break
