"""The desktop a user gets: the URL session.yml prints, opened in a real browser (headless Chromium) that trusts
only the lab CA besides its defaults, reaches the session owner's X desktop through gateway and DCV server."""

import importlib.util
import os
import urllib.parse

import pytest

from conftest import HOST_A, HOST_B, LAB_CA, LAB_USER, ROOT, on_host

SCREENSHOT = os.path.join(ROOT, "build", "lab", "desktop.png")


def _browser_module():
    spec = importlib.util.spec_from_file_location("lab_browser", os.path.join(ROOT, "scripts", "lab_browser.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


browser = _browser_module()


@pytest.fixture(scope="module")
def opened(desktop_url):
    driver = browser.start_browser(LAB_CA)
    try:
        state = browser.open_desktop(driver, desktop_url)
        os.makedirs(os.path.dirname(SCREENSHOT), exist_ok=True)
        driver.save_screenshot(SCREENSHOT)
        print("screenshot: %s" % SCREENSHOT)
        responses = browser.network_responses(driver)
    finally:
        driver.quit()
    return {"url": desktop_url, "session": urllib.parse.urlsplit(desktop_url).fragment, "state": state,
            "responses": responses}


def test_page_loads_and_viewer_connects_to_the_session_of_its_owner(opened):
    state = opened["state"]
    assert state.get("dcvState") == "connected", state
    assert state.get("dcvSession") == opened["session"]
    assert state.get("dcvOwner") == LAB_USER


def test_every_request_of_the_page_answers_200_and_the_stream_upgrades(opened):
    statuses = [status for _url, status in opened["responses"]]
    assert statuses, "the browser saw no responses"
    assert [r for r in opened["responses"] if r[1] not in (200, 101)] == []
    assert 101 in statuses, "no WebSocket stream was opened: %s" % opened["responses"]
    urls = [url for url, _status in opened["responses"] if isinstance(url, str) and url.startswith("https://")]
    assert all(urllib.parse.urlsplit(u).hostname == HOST_A for u in urls), urls


def test_stream_went_through_gateway_to_dcv_server_after_the_broker_checked_the_token(opened):
    session = opened["session"]
    gateway_log = on_host(HOST_A, "cat", "/var/log/dcv-connection-gateway/gateway.log").stdout
    server_log = on_host(HOST_B, "cat", "/var/log/dcv/server.log").stdout
    assert "stream session %s: opened to" % session in gateway_log
    assert ("stream for session %s (owner %s) opened via https://%s:8445/agent/validate-authentication-token"
            % (session, LAB_USER, HOST_A)) in server_log
    assert opened["url"].split("authToken=")[1].split("#")[0] not in gateway_log + server_log, "token in a log"


def test_the_owner_desktop_is_on_screen(opened):
    # The desktop the dcv_server role installed (xfce in the lab) runs as the owner, and the canvas shows more
    # than an empty X screen
    processes = on_host(HOST_B, "ps", "-o", "user=,comm=", "-u", LAB_USER).stdout
    assert "xfdesktop" in processes and "xfce4-panel" in processes, processes
    assert opened["state"]["canvasColours"] > 16, opened["state"]
    assert os.path.getsize(SCREENSHOT) > 10000


def test_a_browser_without_the_lab_ca_gets_a_certificate_error(desktop_url):
    driver = browser.start_browser(None)
    try:
        driver.get(desktop_url)
        page = driver.page_source
        title = driver.title
    finally:
        driver.quit()
    assert "ERR_CERT_AUTHORITY_INVALID" in page, title
