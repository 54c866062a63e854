"""Open a lab desktop URL in a real browser (Debian's headless Chromium, driven by Selenium), as a user behind
the PrivateLink endpoint would: the public name maps to host A, the lab CA is the only extra trust anchor
(in the browser's own NSS store) and certificate errors are never ignored.

    python3 scripts/lab_browser.py URL [--ca build/lab/pki/ca.pem] [--screenshot build/lab/desktop.png]

The URL is read from the environment variable DCVKIT_LAB_URL when it is not given (it carries a connection
token: keep it out of process listings and logs). Prints what the page did and exits non-zero when the
desktop did not connect. tests/lab/ imports the same functions.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# scripts/lab.sh starts host A on this address; inventories/lab/host_vars/dcvkit-lab-a.yml says the same
LAB_ADDRESSES = {"dcvkit-lab-a": "10.213.61.11"}


def nss_home(ca_file):
    """A HOME whose NSS database (the store Chromium on Linux reads) trusts only ca_file besides the defaults."""
    home = tempfile.mkdtemp(prefix="dcvkit-browser-")
    if ca_file:
        db = "sql:" + os.path.join(home, ".pki", "nssdb")
        os.makedirs(os.path.join(home, ".pki", "nssdb"))
        subprocess.run(["certutil", "-d", db, "-N", "--empty-password"], check=True)
        subprocess.run(["certutil", "-d", db, "-A", "-t", "C,,", "-n", "dcvkit lab CA", "-i", ca_file], check=True)
    return home


def start_browser(ca_file, addresses=None):
    """Headless Chromium with a fresh profile; None as ca_file gives a browser that does not know the lab CA."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    home = nss_home(ca_file)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    rules = ", ".join("MAP %s %s" % item for item in (addresses or LAB_ADDRESSES).items())
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,900", "--user-data-dir=" + os.path.join(home, "profile"),
                "--host-resolver-rules=" + rules):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    env = dict(os.environ, HOME=home)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER, env=env), options=options)
    driver.set_page_load_timeout(60)
    return driver


def network_responses(driver):
    """(url, status) of every HTTP response and WebSocket handshake the page saw, from the performance log;
    a request of the page that failed has the browser's error text as its status."""
    urls, seen = {}, []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message["method"] == "Network.requestWillBeSent":
            urls[params["requestId"]] = params["request"]["url"]
        elif message["method"] == "Network.webSocketCreated":
            urls[params["requestId"]] = params["url"]
        elif message["method"] == "Network.responseReceived":
            seen.append((params["response"]["url"], params["response"]["status"]))
        elif message["method"] == "Network.webSocketHandshakeResponseReceived":
            seen.append((urls.get(params["requestId"], params["requestId"]), params["response"]["status"]))
        elif message["method"] == "Network.loadingFailed" and not params.get("canceled"):
            # only requests the page sent: the browser's own start-up navigation (its new-tab page, sent
            # before this log starts, so without a requestWillBeSent) fails to resolve behind the mapped name
            if params["requestId"] in urls:
                seen.append((urls[params["requestId"]], "failed: %s" % params.get("errorText")))
    return seen


def canvas_colours(driver):
    """Distinct colours on the viewer's canvas (sampled), or -1 when there is no readable canvas."""
    return driver.execute_script("""
        const canvas = document.querySelector('canvas');
        if (!canvas || !canvas.width || !canvas.height) return -1;
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        const colours = new Set();
        for (let i = 0; i < data.length; i += 4 * 97) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
        return colours.size;
    """)


def open_desktop(driver, url, timeout=90):
    """Load the URL and wait until the viewer reports a final state; returns what the page says."""
    driver.get(url)
    deadline = time.time() + timeout
    state = {}
    while time.time() < deadline:
        state = driver.execute_script("return Object.assign({}, document.documentElement.dataset);") or {}
        if state.get("dcvState") in ("failed", "disconnected"):
            break
        # connected, and the first frames drawn: the desktop is more than a few colours
        if state.get("dcvState") == "connected" and canvas_colours(driver) > 16:
            time.sleep(3)  # let the panel and the desktop finish their first paint
            break
        time.sleep(1)
    state["canvasColours"] = canvas_colours(driver)
    state["title"] = driver.title
    return state


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("url", nargs="?", default=os.environ.get("DCVKIT_LAB_URL"))
    parser.add_argument("--ca", default=os.path.join(ROOT, "build", "lab", "pki", "ca.pem"))
    parser.add_argument("--screenshot", default=os.path.join(ROOT, "build", "lab", "desktop.png"))
    args = parser.parse_args()
    if not args.url:
        parser.error("no URL: pass it or set DCVKIT_LAB_URL")
    driver = start_browser(args.ca)
    try:
        state = open_desktop(driver, args.url)
        os.makedirs(os.path.dirname(args.screenshot), exist_ok=True)
        driver.save_screenshot(args.screenshot)
        responses = network_responses(driver)
    finally:
        driver.quit()
    bad = [(url, status) for url, status in responses if status not in (200, 101)]
    session = urllib.parse.urlsplit(args.url).fragment
    print("browser: page %r, viewer %s, session %s, owner %s, %d colours on the desktop canvas"
          % (state.get("title"), state.get("dcvState"), state.get("dcvSession"), state.get("dcvOwner"),
             state.get("canvasColours", -1)))
    print("browser: %d responses, %d not OK%s" % (len(responses), len(bad), "".join("\n  %s %s" % b for b in bad)))
    print("screenshot: %s" % args.screenshot)
    ok = state.get("dcvState") == "connected" and state.get("dcvSession") == session and not bad
    if not ok and state.get("dcvError"):
        print("viewer error: %s" % state["dcvError"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
