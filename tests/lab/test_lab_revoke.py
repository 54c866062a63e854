"""Ending a session at once, on the lab: session.yml -e dcv_session_revoke=ID deletes the session through the broker
(DeleteSessions with Force) while a client is connected; the DCV server closes it, and the URL session.yml printed
for it no longer opens anything: the gateway's resolver hop answers 404. A second revocation reports that the broker
no longer has the session. The revocation prints the session ID, never a URL."""

import re
import time

import pytest

from conftest import HOST_A, HOST_A_ADDRESS, HOST_B, INVENTORY, LAB_CA, LAB_USER, on_host, run
from rfb_stream import RfbStream, StreamRefused

SESSION_NAME = "lab-revoke"
GATEWAY_LOG = "/var/log/dcv-connection-gateway/gateway.log"


def session_yml(*extra):
    arguments = ["ansible-playbook", "-i", INVENTORY, "playbooks/session.yml"]
    for item in extra:
        arguments += ["-e", item]
    return run(arguments, check=True).stdout


def dcv_sessions():
    return re.findall(r"Session: '([^']+)'", on_host(HOST_B, "dcv", "list-sessions").stdout)


@pytest.fixture(scope="module")
def revoked():
    output = session_yml("dcv_session_owner=" + LAB_USER, "dcv_session_name=" + SESSION_NAME)
    url = re.search(r"https://\S*?authToken=\S*?#[\w-]+", " ".join(output.split())).group(0)
    session_id = url.rsplit("#", 1)[1]
    stream = RfbStream(url, LAB_CA, HOST_A_ADDRESS)   # a client is connected while the session is revoked
    stream.handshake()
    try:
        revocation = session_yml("dcv_session_revoke=" + session_id)
    finally:
        stream.close()
    deadline = time.monotonic() + 60
    while session_id in dcv_sessions():   # the agent polls the broker (every 5 s in the lab) and closes it
        assert time.monotonic() < deadline, "session %s still runs on %s" % (session_id, HOST_B)
        time.sleep(2)
    return {"id": session_id, "url": url, "output": revocation}


def test_the_revocation_says_what_it_ended_and_prints_no_url(revoked):
    text = " ".join(revoked["output"].split())
    assert "session %s ended; the URLs printed for it no longer open it" % revoked["id"] in text
    assert "authToken" not in revoked["output"]


def test_the_url_of_a_revoked_session_fails_at_the_gateways_resolver_hop(revoked):
    with pytest.raises(StreamRefused) as refused:
        RfbStream(revoked["url"], LAB_CA, HOST_A_ADDRESS)
    assert refused.value.status == 404
    log = on_host(HOST_A, "tail", "-n", "50", GATEWAY_LOG).stdout
    # the resolver's documented 404 answer for a session it does not know
    assert re.search(r"stream session %s: hop resolver \(\S+\) failed: The requested combination of transport and "
                     r"sessionId does not exist" % re.escape(revoked["id"]), log), log


def test_revoking_again_reports_a_session_the_broker_no_longer_has(revoked):
    text = " ".join(session_yml("dcv_session_revoke=" + revoked["id"]).split())
    assert "session %s is not one the broker has (ended already, or never created): nothing to revoke" \
        % revoked["id"] in text
