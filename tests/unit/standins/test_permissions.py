"""What a session's permissions file lets a user do in the DCV server stand-in (dcvstandin/permissions.py), read as
adminguide "Adding permissions" writes it, and which desktop bridge that gives the user (xsession.input_letters):
the routing decision of the stream route, without X or any process."""

import pytest

from dcvstandin import xsession
from dcvstandin.permissions import FEATURES, features

OWNER = "alice"
VIEW_ONLY = "[permissions]\n%owner% allow builtin\nbob allow display\n"  # what session.yml writes for viewers


def test_the_feature_list_is_the_guides():
    # adminguide "Adding permissions": the features a permissions file can reference, builtin being all of them
    assert FEATURES == {
        "audio-in", "audio-out", "clipboard-copy", "clipboard-paste", "display", "extensions-client",
        "extensions-server", "file-download", "file-upload", "gamepad", "keyboard", "keyboard-sas", "mouse",
        "pointer", "printer", "screenshot", "smartcard", "stylus", "touch", "unsupervised-access", "usb", "webcam",
        "webauthn-redirection"}


@pytest.mark.parametrize("permissions, user, expected", [
    # no permissions file: the default one, the owner alone with every feature
    (None, OWNER, FEATURES),
    (None, "bob", set()),
    # session.yml's viewers: the owner keeps everything, a viewer only receives the display
    (VIEW_ONLY, OWNER, FEATURES),
    (VIEW_ONLY, "bob", {"display"}),
    (VIEW_ONLY, "carol", set()),
    # %any% is every user, the owner included
    ("[permissions]\n%any% allow display pointer\n", "carol", {"display", "pointer"}),
    ("[permissions]\n%any% allow display\n", OWNER, {"display"}),
    # %owner% is the session owner only
    ("[permissions]\n%owner% allow keyboard\n", "bob", set()),
    # deny is final: no later allow, not even builtin, brings the feature back; the other features stay
    ("[permissions]\nbob deny keyboard\nbob allow builtin\n", "bob", FEATURES - {"keyboard", "keyboard-sas"}),
    ("[permissions]\n%any% deny mouse\nbob allow display mouse\n", "bob", {"display"}),
    # disallow is overridden by a later allow, and overrides an earlier one
    ("[permissions]\nbob disallow display\nbob allow display\n", "bob", {"display"}),
    ("[permissions]\nbob allow display keyboard\nbob disallow keyboard\n", "bob", {"display"}),
    ("[permissions]\nbob allow builtin\nbob disallow builtin\nbob allow display\n", "bob", {"display"}),
    # builtin then a narrower disallow
    ("[permissions]\nbob allow builtin\nbob disallow keyboard mouse\n", "bob",
     FEATURES - {"keyboard", "keyboard-sas", "mouse"}),
    # keyboard-sas requires keyboard
    ("[permissions]\nbob allow display keyboard-sas\n", "bob", {"display"}),
    ("[permissions]\nbob allow display keyboard keyboard-sas\n", "bob", {"display", "keyboard", "keyboard-sas"}),
    # not modelled, so they grant nothing: groups, aliases, other sections, unknown feature names
    ("[permissions]\ngroup:viewers allow display\nosgroup:users allow display\n", "bob", set()),
    ("[aliases]\nview=display\n[permissions]\nbob allow view\n", "bob", set()),
    ("[groups]\nbob allow display\n", "bob", set()),
    ("[permissions]\nbob allow display teleport\n", "bob", {"display"}),
    # an empty file revokes everything (adminguide "Managing Amazon DCV Session authorization")
    ("", OWNER, set()),
    # comments, blank lines, a line without features
    ("# shared\n\n[permissions]\n; viewers\nbob allow\nbob allow display\n", "bob", {"display"}),
])
def test_features_a_user_ends_up_with(permissions, user, expected):
    assert features(permissions, OWNER, user) == frozenset(expected)


@pytest.mark.parametrize("allowed, letters, described", [
    (FEATURES, xsession.FULL_INPUT, "with keyboard and mouse input"),     # the session's own bridge
    ({"display", "keyboard", "mouse"}, xsession.FULL_INPUT, "with keyboard and mouse input"),
    ({"display"}, "", "view-only"),                                        # x11vnc -viewonly
    ({"display", "pointer"}, "", "view-only"),                            # pointer shows the pointer: no input
    ({"display", "clipboard-paste", "file-upload"}, "", "view-only"),
    ({"display", "keyboard"}, "K", "with keyboard input only"),            # x11vnc -input K
    ({"display", "mouse"}, "MB", "with mouse input only"),                 # x11vnc -input MB
])
def test_the_bridge_a_user_gets_follows_their_input_features(allowed, letters, described):
    assert xsession.input_letters(frozenset(allowed)) == letters
    assert xsession.describe_input(letters) == described
