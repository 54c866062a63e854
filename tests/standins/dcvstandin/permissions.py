# TEST DOUBLE: part of the dcvkit test stand-ins for the Amazon DCV packages (tests/standins).
# Not Amazon software; used only by the collection's tests and lab.
"""What a session's permissions file lets a user do, as the DCV server stand-in reads it.

AWS DCV Administrator Guide, "Configuring Amazon DCV authorization": without a custom permissions file the default
one applies, which gives the session owner alone full access to every feature. "Adding permissions": the
``[permissions]`` section holds ``actor rule features`` lines; the actor is a user name, ``%owner%`` (the session
owner) or ``%any%`` (any user), or a ``group:``/``osgroup:`` group; the rule is ``allow``, ``disallow`` (denies,
but a later line may override it) or ``deny`` (denies, and nothing later overrides it); the features are feature
names or aliases, ``builtin`` being the alias of every feature. "Managing Amazon DCV Session authorization": an
empty permissions file revokes every permission.

Not modelled: ``group:`` and ``osgroup:`` actors, the ``[groups]`` and ``[aliases]`` sections and ``#import`` (such
lines never match a user, so they grant nothing), and ``unsupervised-access`` (a user it does not name is let in
whether the owner is connected or not). Unknown feature names grant nothing.
"""

# adminguide "Adding permissions": "The following features can be referenced in the permissions file"
FEATURES = frozenset((
    "audio-in", "audio-out", "clipboard-copy", "clipboard-paste", "display", "extensions-client",
    "extensions-server", "file-download", "file-upload", "gamepad", "keyboard", "keyboard-sas", "mouse", "pointer",
    "printer", "screenshot", "smartcard", "stylus", "touch", "unsupervised-access", "usb", "webcam",
    "webauthn-redirection",
))
BUILTIN = "builtin"  # "a built-in builtin alias that includes all of the Amazon DCV features"
RULES = ("allow", "disallow", "deny")


def _named(word):
    """The features one word of a permission line names."""
    if word == BUILTIN:
        return FEATURES
    return (word,) if word in FEATURES else ()


def _applies(actor, owner, user):
    return actor in (user, "%any%") or (actor == "%owner%" and user == owner)


def features(permissions, owner, user):
    """The features ``user`` ends up allowed in a session of ``owner`` whose permissions file is ``permissions``
    (None: none was given, so the default one applies). The lines are read in order; for each feature the last
    ``allow`` or ``disallow`` of a line that applies to the user counts, unless a ``deny`` came first, which is
    final. ``keyboard-sas`` needs ``keyboard`` (adminguide "Adding permissions": "Requires the keyboard feature")."""
    if permissions is None:
        return FEATURES if user == owner else frozenset()
    rules, section = {}, None
    for line in permissions.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip().lower()
            continue
        words = line.split()
        if section != "permissions" or len(words) < 3 or words[1] not in RULES:
            continue
        if not _applies(words[0], owner, user):
            continue
        for word in words[2:]:
            for feature in _named(word):
                if rules.get(feature) != "deny":
                    rules[feature] = words[1]
    allowed = {feature for feature, rule in rules.items() if rule == "allow"}
    if "keyboard" not in allowed:
        allowed.discard("keyboard-sas")
    return frozenset(allowed)


def may_view(permissions, owner, user):
    """Whether ``user`` may connect at all: allowed ``display``, the feature that receives the server's visual data
    (adminguide "Adding permissions"); without it there is nothing to see."""
    return "display" in features(permissions, owner, user)
